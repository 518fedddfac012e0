/**
 * `npm run bench:projections`: what one event costs `job-dashboard` to fold,
 * in KurrentDB's own projection runtime (the V1 engine, through
 * `@kurrent/projections-testing`) and in jobtrail's embedded runtime, for
 * the file as it was (bench/fixtures/job-dashboard.before.js: up to 1000
 * outstanding entries and 100 failures in its shared state) and as it is
 * (projections/job-dashboard.js), side by side.
 *
 * Why: in KurrentDB's V1 engine a bi-state projection's shared state is
 * serialised after every event and parsed again when the partition changes
 * (the runtime used here, gaffer, parses it before every event), so each
 * event costs time in proportion to the shared state's size.
 *
 * The stream mix: first a backlog of `B` jobs enqueued that never move
 * (B = 0, 1000, 10 000; not timed); then, timed, `--in-flight` jobs (default
 * 200) run at once, one event of each in turn (round robin), so the
 * partition changes on every event: JobEnqueued, JobStarted, then
 * JobCompleted, or for one job in ten JobErrored with a retry, JobReset,
 * JobStarted, JobCompleted. Before timing, `--warmup` events of the same mix
 * (default 2000; they also fill the failures list). Each figure is the median
 * (min–max) of `--runs` runs (default 3) of up to `--events` events (default
 * 20 000) or `--seconds` seconds (default 5), whichever comes first.
 * Printed: events/s, µs per event, and the shared state's serialised size
 * (JSON, bytes) at the end.
 *
 * KurrentDB's runtime is a native library that needs glibc ≥ 2.38: on an
 * older glibc this script runs itself again through the glibc that the test
 * runner provides (test/support/provision.js: Debian 13's, cached in
 * ~/.cache/jobtrail). The embedded runtime is fed in batches of 500, the
 * runtime's default batch size (it serialises the shared state once per
 * batch). The JSON goes to bench/results/projection-cost-<timestamp>.json.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeMemoryProjection, type ProjectionEvent } from '../src/projections/index.js';
import { parseBenchArgs, positiveInt } from './support/args.js';
import { now } from './support/clock.js';
import { cell, num, table } from './support/format.js';
import { machine, sourceState, writeResults } from './support/results.js';
import { spread, type Spread } from './support/stats.js';
import { loadKurrentRuntime, type CreateProjection } from '../test/support/kurrentRuntime.js';

const usage = `npm run bench:projections -- [options]

  --backlogs LIST   outstanding jobs before timing, comma-separated (default 0,1000,10000)
  --in-flight N     jobs running at once in the timed mix (default 200)
  --events N        events per timed run at most (default 20000)
  --seconds N       seconds per timed run at most (default 5)
  --warmup N        events of the mix before timing (default 2000)
  --runs N          runs per figure (default 3)
  --quick           backlogs 0,1000, 2000 events, 1 run
  --no-kurrent      only the embedded runtime`;

const args = parseBenchArgs(
  {
    backlogs: { type: 'string' },
    'in-flight': { type: 'string' },
    events: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    runs: { type: 'string' },
    quick: { type: 'boolean' },
    'no-kurrent': { type: 'boolean' },
  },
  usage,
);
const quick = args.quick === true;
const backlogs = (args.backlogs ?? (quick ? '0,1000' : '0,1000,10000')).split(',').map((b) => {
  const n = Number(b.trim().replaceAll('_', ''));
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--backlogs: ${JSON.stringify(b)} is not a whole number ≥ 0`);
    process.exit(2);
  }
  return n;
});
const inFlight = positiveInt('--in-flight', args['in-flight'], 200);
const maxEvents = positiveInt('--events', args.events, quick ? 2000 : 20_000);
const maxMs = positiveInt('--seconds', args.seconds, 5) * 1000;
const warmup = positiveInt('--warmup', args.warmup, quick ? 500 : 2000);
const runs = positiveInt('--runs', args.runs, quick ? 1 : 3);

const files = {
  before: fileURLToPath(new URL('./fixtures/job-dashboard.before.js', import.meta.url)),
  after: fileURLToPath(new URL('../projections/job-dashboard.js', import.meta.url)),
} as const;
type Version = keyof typeof files;
const sources: Record<Version, string> = { before: readFileSync(files.before, 'utf8'), after: readFileSync(files.after, 'utf8') };

// ---------------------------------------------------------------- KurrentDB's runtime, or why not

const kurrent = args['no-kurrent'] === true ? { reason: '--no-kurrent' } : await loadKurrentRuntime();

// Not loadable here, and not yet rerun: run this script again through a new enough glibc's loader.
if ('reason' in kurrent && args['no-kurrent'] !== true && process.env['JOBTRAIL_BENCH_RERUN'] !== '1') {
  const provision = (await import(pathToFileURL(fileURLToPath(new URL('../test/support/provision.js', import.meta.url))).href)) as {
    provisionGlibc: () => { command: string; args: string[]; env: Record<string, string> } | { error: string };
  };
  const glibc = provision.provisionGlibc();
  if ('error' in glibc) {
    console.error(`KurrentDB's projection runtime does not load (${kurrent.reason}), and ${glibc.error}`);
    console.error('Rerun with --no-kurrent for the embedded runtime alone.');
    process.exit(1);
  }
  if (glibc.args.length > 0) {
    const child = spawn(glibc.command, [...glibc.args, '--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, ...glibc.env, JOBTRAIL_BENCH_RERUN: '1' },
    });
    child.on('exit', (code, signal) => process.exit(code ?? (signal !== null ? 1 : 0)));
    await new Promise(() => undefined);
  }
}
if ('reason' in kurrent && args['no-kurrent'] !== true) {
  console.error(`KurrentDB's projection runtime does not load: ${kurrent.reason}`);
  process.exit(1);
}

// ---------------------------------------------------------------- the stream mix

interface Event {
  readonly streamId: string;
  readonly revision: number;
  readonly type: string;
  readonly data: Record<string, unknown>;
}

const workers = ['send-email', 'resize-image', 'charge-card', 'sync-crm', 'build-report'];
const iso = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();
const jobId = (prefix: string, i: number) => `${prefix}${String(i).padStart(8, '0')}-7c1e-4b9a-9f3e-2d4c6a8b0e1f`;

const enqueuedEvent = (id: string, i: number): Event => ({
  streamId: `job-${id}`,
  revision: 0,
  type: 'JobEnqueued',
  data: {
    jobId: id,
    workerName: workers[i % workers.length] as string,
    queue: 'default',
    payload: { to: `user${i}@example.com`, template: 'welcome' },
    maxAttempts: 3,
    enqueuedAt: iso(i),
  },
});

/** The backlog: `count` jobs enqueued that do not move. */
const backlogEvents = (count: number): Event[] => Array.from({ length: count }, (_, i) => enqueuedEvent(jobId('b', i), i));

/** The mix: `inFlight` jobs at once, one event of each in turn; one job in ten fails once and is retried. */
const makeMix = (tag: string) => {
  let next = 0;
  let clock = 1_000_000;
  const slots: Array<{ events: Event[]; at: number }> = [];
  const job = (): { events: Event[]; at: number } => {
    const i = next++;
    const id = jobId(tag, i);
    const stream = `job-${id}`;
    let revision = 0;
    const ev = (type: string, data: Record<string, unknown>): Event => ({ streamId: stream, revision: revision++, type, data });
    const events = [enqueuedEvent(id, i)];
    revision = 1;
    events.push(ev('JobStarted', { attempt: 1, workerId: 'host:1:run', backgroundJobId: `m${i}`, startedAt: iso(clock) }));
    if (i % 10 === 3) {
      events.push(
        ev('JobErrored', {
          attempt: 1,
          erroredAt: iso(clock + 5),
          error: { name: 'UpstreamError', message: `the upstream service answered 503 Service Unavailable for request ${i}` },
          retryAt: iso(clock + 1005),
        }),
        ev('JobReset', { at: iso(clock + 1005), reason: 'retry' }),
        ev('JobStarted', { attempt: 2, workerId: 'host:1:run', backgroundJobId: `m${i}r`, startedAt: iso(clock + 1006) }),
      );
    }
    events.push(ev('JobCompleted', { attempt: i % 10 === 3 ? 2 : 1, completedAt: iso(clock + 40), durationMs: 5 + ((i * 37) % 400) }));
    return { events, at: 0 };
  };
  for (let s = 0; s < inFlight; s++) slots.push(job());
  let slot = 0;
  return (): Event => {
    clock += 1;
    const current = slots[slot] as { events: Event[]; at: number };
    const e = current.events[current.at++] as Event;
    if (current.at >= current.events.length) slots[slot] = job();
    slot = (slot + 1) % inFlight;
    return e;
  };
};

// ---------------------------------------------------------------- the two runtimes

interface Runner {
  feed(events: readonly Event[]): void;
  sharedBytes(): number;
  dispose(): void;
}

let position = 0;
const toProjectionEvent = (e: Event): ProjectionEvent => ({
  streamId: e.streamId,
  revision: e.revision,
  type: e.type,
  data: e.data,
  isJson: true,
  position: String((position += 1)),
});

const embeddedRunner = (version: Version): Runner => {
  const p = makeMemoryProjection({ name: 'job-dashboard', source: sources[version] });
  return {
    feed: (events) => {
      for (let i = 0; i < events.length; i += 500) {
        const fault = p.feed(events.slice(i, i + 500).map(toProjectionEvent));
        if (fault !== undefined) throw new Error(`embedded ${version}: ${JSON.stringify(fault)}`);
      }
    },
    sharedBytes: () => Buffer.byteLength(JSON.stringify(p.shared())),
    dispose: () => undefined,
  };
};

const kurrentRunner = (create: CreateProjection, version: Version): Runner => {
  const t = create(sources[version], { engineVersion: 1 }).test();
  return {
    feed: (events) => {
      for (const e of events) {
        const r = t.feed({ eventType: e.type, streamId: e.streamId, sequenceNumber: e.revision, isJson: true, data: e.data, metadata: {} });
        if (r.status !== 'processed') throw new Error(`kurrent ${version}: ${e.type} was ${r.status} (${r.reason ?? ''})`);
      }
    },
    sharedBytes: () => Buffer.byteLength(JSON.stringify(t.getSharedState())),
    dispose: () => t.dispose(),
  };
};

interface Measure {
  readonly eventsPerSecond: number;
  readonly sharedBytes: number;
  readonly events: number;
  readonly setupMs: number;
}

/** One run: the backlog and the warm-up (not timed), then the mix, timed, in chunks of 100 events until the budget is spent. */
const measure = (runner: Runner, backlog: number, run: number): Measure => {
  const mix = makeMix(`r${run}-`);
  const started = now();
  runner.feed(backlogEvents(backlog));
  runner.feed(Array.from({ length: warmup }, mix));
  const setupMs = now() - started;
  let events = 0;
  const t0 = now();
  let elapsed = 0;
  while (events < maxEvents && elapsed < maxMs) {
    // The embedded runtime gets its batches of 500; KurrentDB's runtime one event at a time anyway.
    const chunk = Array.from({ length: Math.min(500, maxEvents - events) }, mix);
    runner.feed(chunk);
    events += chunk.length;
    elapsed = now() - t0;
  }
  const sharedBytes = runner.sharedBytes();
  runner.dispose();
  return { eventsPerSecond: (events * 1000) / elapsed, sharedBytes, events, setupMs };
};

// ---------------------------------------------------------------- run and report

const runtimes: Array<{ name: string; make: (v: Version) => Runner }> = [
  ...('createProjection' in kurrent
    ? [{ name: 'KurrentDB V1 (gaffer)', make: (v: Version) => kurrentRunner(kurrent.createProjection, v) }]
    : []),
  { name: 'embedded (node:vm)', make: embeddedRunner },
];

interface Row {
  readonly runtime: string;
  readonly file: Version;
  readonly backlog: number;
  readonly eventsPerSecond: Spread | undefined;
  readonly microsPerEvent: Spread | undefined;
  readonly sharedBytes: number;
  readonly eventsPerRun: number;
}

console.log(
  `job-dashboard fold cost: ${inFlight} jobs in flight (round robin), backlogs ${backlogs.join(', ')}, ` +
    `up to ${maxEvents} events or ${maxMs / 1000} s per run, ${runs} run(s), warm-up ${warmup}`,
);
const rows: Row[] = [];
for (const runtime of runtimes)
  for (const backlog of backlogs)
    for (const file of ['before', 'after'] as const) {
      const measures = Array.from({ length: runs }, (_, run) => measure(runtime.make(file), backlog, run));
      const rates = measures.map((m) => m.eventsPerSecond);
      const row: Row = {
        runtime: runtime.name,
        file,
        backlog,
        eventsPerSecond: spread(rates),
        microsPerEvent: spread(rates.map((r) => 1e6 / r)),
        sharedBytes: Math.max(...measures.map((m) => m.sharedBytes)),
        eventsPerRun: Math.min(...measures.map((m) => m.events)),
      };
      rows.push(row);
      console.log(
        `  ${row.runtime}, ${file}, backlog ${backlog}: ${num(row.eventsPerSecond?.median ?? Number.NaN)} events/s, shared state ${num(row.sharedBytes)} B ` +
          `(setup ${num(Math.max(...measures.map((m) => m.setupMs)) / 1000)} s)`,
      );
    }

console.log(
  `\n${table(
    ['runtime', 'file', 'backlog', 'events/s', 'µs/event', 'shared state (B)', 'events/run'],
    rows.map((r) => [
      r.runtime,
      r.file,
      String(r.backlog),
      cell(r.eventsPerSecond),
      cell(r.microsPerEvent),
      num(r.sharedBytes),
      num(r.eventsPerRun),
    ]),
  )}`,
);
const m = machine();
console.log(
  `\nnode ${m.node}, ${m.cpus} × ${m.cpuModel ?? '?'}, ${m.memoryGb} GB, glibc ${(process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime ?? '?'}`,
);
const path = writeResults('projection-cost', {
  machine: m,
  source: sourceState(),
  options: { backlogs, inFlight, maxEvents, maxMs, warmup, runs },
  rows,
});
console.log(`results: ${path}`);
