/**
 * `npm run bench:store`: the embedded (SQLite file) event store alone.
 *
 * - append rate: single events, one per append (one transaction each), into
 *   new `job-<uuid v7>` streams, and the latency of those commits (p50, p99,
 *   max): each is synced to disk (`synchronous=FULL`), so they are the floor
 *   of one-by-one enqueues and of enqueue-to-start latency;
 * - the disk itself: 4 KiB written and `fdatasync`ed in place, as many times
 *   as there are single appends (p50, p99, max): what no commit can beat;
 * - append rate: batches of 100 events per append;
 * - the batches the engine really makes: one event per append, three appends
 *   per job (JobEnqueued at no_stream, JobStarted at 0, JobCompleted at 1),
 *   with the engine's metadata, one job at a time; also with random (v4) job
 *   ids; and with 100 jobs in flight at once, as a worker at concurrency 100
 *   writes them (the store commits the appends of one event-loop turn
 *   together: its group commit);
 * - read of a 1,000-event stream;
 * - fold rate of the projection runtime (`runProjections` from
 *   src/projections, both built-in projections) over 1,000,000 events, when
 *   src/projections exports it; else the figure is skipped with the reason.
 *
 * Each figure is the median (min–max) of `--runs` runs (default 3), each on a
 * new store file in the temporary directory. Counts: `--appends N` (default
 * 5,000), `--jobs N` (default 5,000), `--fold-events N` (default 1,000,000;
 * the fold is run once per run, bounded to 10 minutes). `--quick`: a tenth.
 * The JSON goes to bench/results/store-<timestamp>.json.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { makeEmbeddedEventStore, type EmbeddedEventStore, type EventData, type ExpectedRevision } from '../src/eventStore/index.js';
import { parseBenchArgs, positiveInt } from './support/args.js';
import { now, sleep } from './support/clock.js';
import { cell, table } from './support/format.js';
import { rssMb } from './support/memory.js';
import { machine, sourceState, writeResults } from './support/results.js';
import { spread, summariseLatencies, type Spread } from './support/stats.js';

const usage = `npm run bench:store -- [options]

  --appends N       single-event appends, and batches of 100 (default 5000)
  --jobs N          jobs written the engine's way, 3 appends each (default 5000)
  --fold-events N   events the projection runtime folds (default 1000000)
  --runs N          runs per figure (default 3)
  --quick           a tenth of every count, 1 run`;

const args = parseBenchArgs(
  {
    appends: { type: 'string' },
    jobs: { type: 'string' },
    'fold-events': { type: 'string' },
    runs: { type: 'string' },
    quick: { type: 'boolean' },
  },
  usage,
);
const quick = args.quick === true;
const scale = quick ? 10 : 1;
const config = {
  appends: positiveInt('--appends', args.appends, 5000 / scale),
  jobs: positiveInt('--jobs', args.jobs, 5000 / scale),
  foldEvents: positiveInt('--fold-events', args['fold-events'], 1_000_000 / scale),
  runs: positiveInt('--runs', args.runs, quick ? 1 : 3),
  readStreamLength: 1000,
  readRepeats: quick ? 50 : 200,
  foldTimeoutMs: 10 * 60_000,
};

const withStore = async <A>(f: (store: EmbeddedEventStore) => Promise<A>): Promise<A> => {
  const dir = mkdtempSync(join(tmpdir(), 'jobtrail-bench-store-'));
  const store = makeEmbeddedEventStore({ path: join(dir, 'events.db') });
  try {
    return await f(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
};

const mustAppend = async (store: EmbeddedEventStore, stream: string, events: readonly EventData[], expectedRevision: ExpectedRevision) => {
  const r = await store.append(stream, events, { expectedRevision })();
  if (r._tag === 'Left') throw new Error(`append to ${stream} failed: ${r.left.message}`);
  return r.right;
};

// Data shaped as the engine writes it (src/jobStore, src/conductor).
const metadata = (jobId: string) => ({ $correlationId: jobId, $causationId: jobId, engineVersion: '0.1.0', origin: 'bench:1:00000000' });
const jobEvents = (jobId: string) => {
  const at = new Date().toISOString();
  return [
    {
      id: randomUUID(),
      type: 'JobEnqueued',
      data: { jobId, workerName: 'bench-noop', queue: 'default', payload: { i: 1, t: Date.now() }, maxAttempts: 10, enqueuedAt: at },
      metadata: metadata(jobId),
    },
    {
      id: randomUUID(),
      type: 'JobStarted',
      data: { attempt: 1, workerId: 'bench:1:00000000', backgroundJobId: randomUUID(), startedAt: at },
      metadata: metadata(jobId),
    },
    { id: randomUUID(), type: 'JobCompleted', data: { attempt: 1, completedAt: at, durationMs: 0 }, metadata: metadata(jobId) },
  ] as const;
};

/**
 * Appends `jobs` jobs the engine's way: per job JobEnqueued, JobStarted,
 * JobCompleted, one event per append, each awaited before the next. With
 * `inFlight` > 1, that many jobs are written at once (as a worker at that
 * concurrency does), so the store can put appends of one event-loop turn in
 * one transaction (its group commit).
 */
const writeJobs = async (store: EmbeddedEventStore, jobs: number, ids: () => string, inFlight = 1) => {
  let next = 0;
  const lane = async () => {
    while (next < jobs) {
      next += 1;
      const jobId = ids();
      const [enqueued, started, completed] = jobEvents(jobId);
      const stream = `job-${jobId}`;
      await mustAppend(store, stream, [enqueued], 'no_stream');
      await mustAppend(store, stream, [started], 0);
      await mustAppend(store, stream, [completed], 1);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
};

const rate = (count: number, ms: number) => count / (ms / 1000);

type Figure = { readonly key: string; readonly label: string; readonly values: number[]; note?: string };
const figures: Figure[] = [];
const figure = (key: string, label: string): Figure => {
  const f: Figure = { key, label, values: [] };
  figures.push(f);
  return f;
};

const singles = figure('appendSingle', 'append, 1 event per append (own transaction), events/s');
/** The p50, p99 and max of a latency, as three figures (`<key>P50`, `<key>P99`, `<key>Max`). */
const latencyFigures = (key: string, first: string, then: string) => ({
  p50: figure(`${key}P50`, `${first}, p50, ms`),
  p99: figure(`${key}P99`, `${then}, p99, ms`),
  max: figure(`${key}Max`, `${then}, max, ms`),
});
type LatencyFigures = ReturnType<typeof latencyFigures>;
const commitLatency = latencyFigures('commit', 'latency of those appends (a commit synced to disk)', 'latency of those appends');
const syncLatency = latencyFigures('fdatasync', 'the disk: write 4 KiB + fdatasync', 'the disk: write 4 KiB + fdatasync');
const batches = figure('appendBatch100', 'append, batches of 100 events, events/s');
const engineV7 = figure('engineAppends', 'engine pattern: 3 appends of 1 event per job (v7 ids), appends/s');
const engineJobs = figure('engineJobs', 'engine pattern, jobs/s (3 appends each)');
const engineV4 = figure('engineAppendsV4', 'engine pattern with random v4 job ids, appends/s');
const grouped = figure('engineAppendsInFlight100', 'engine pattern, 100 jobs in flight (the store groups their appends), appends/s');
const groupedJobs = figure('engineJobsInFlight100', 'engine pattern, 100 jobs in flight, jobs/s');
const readStream = figure('readStream1000', `read a ${config.readStreamLength}-event stream, streams/s`);
const readEvents = figure('readStream1000Events', `read a ${config.readStreamLength}-event stream, events/s`);
const fold = figure('foldEvents', `projection runtime fold over ${config.foldEvents.toLocaleString('en-US')} events, events/s`);
const foldWrite = figure('foldSetupEvents', `(setup) writing those events, 1,000 jobs in flight, events/s`);

/** Adds the p50, p99 and max of one run's latencies to their figures. */
const recordLatencies = (latencies: Float64Array, figures: LatencyFigures) => {
  const summary = summariseLatencies(latencies);
  figures.p50.values.push(summary.p50);
  figures.p99.values.push(summary.p99);
  figures.max.values.push(summary.max);
};

const main = async () => {
  const started = Date.now();
  console.log(
    `jobtrail bench:store: ${config.appends} appends, ${config.jobs} jobs, fold over ${config.foldEvents} events, ${config.runs} run(s)`,
  );
  let foldSkipped: string | undefined;
  let runProjections: typeof import('../src/projections/index.js').runProjections | undefined;
  try {
    const mod = (await import('../src/projections/index.js')) as Partial<typeof import('../src/projections/index.js')>;
    if (typeof mod.runProjections === 'function') runProjections = mod.runProjections;
    else foldSkipped = 'src/projections does not export runProjections (the projection runtime) yet';
  } catch (error) {
    foldSkipped = `src/projections does not load: ${(error as Error).message.split('\n')[0]}`;
  }

  for (let run = 1; run <= config.runs; run++) {
    await withStore(async (store) => {
      const latencies = new Float64Array(config.appends);
      const t0 = now();
      for (let i = 0; i < config.appends; i++) {
        const t = now();
        await mustAppend(
          store,
          `job-${uuidv7()}`,
          [{ id: randomUUID(), type: 'JobEnqueued', data: { i }, metadata: metadata('x') }],
          'no_stream',
        );
        latencies[i] = now() - t;
      }
      singles.values.push(rate(config.appends, now() - t0));
      recordLatencies(latencies, commitLatency);
    });
    {
      const dir = mkdtempSync(join(tmpdir(), 'jobtrail-bench-disk-'));
      const fd = openSync(join(dir, 'sync.bin'), 'w');
      try {
        const page = Buffer.alloc(4096, 1);
        const latencies = new Float64Array(config.appends);
        for (let i = 0; i < config.appends; i++) {
          const t = now();
          writeSync(fd, page, 0, page.length, (i % 256) * page.length);
          fdatasyncSync(fd);
          latencies[i] = now() - t;
        }
        recordLatencies(latencies, syncLatency);
      } finally {
        closeSync(fd);
        rmSync(dir, { recursive: true, force: true });
      }
    }
    await withStore(async (store) => {
      const n = Math.max(1, Math.round(config.appends / 100));
      const t0 = now();
      for (let b = 0; b < n; b++) {
        const events = Array.from({ length: 100 }, (_, i) => ({
          id: randomUUID(),
          type: 'JobProgressed',
          data: { i },
          metadata: metadata('x'),
        }));
        await mustAppend(store, `job-${uuidv7()}`, events, 'no_stream');
      }
      batches.values.push(rate(n * 100, now() - t0));
    });
    await withStore(async (store) => {
      const t0 = now();
      await writeJobs(store, config.jobs, uuidv7);
      const ms = now() - t0;
      engineV7.values.push(rate(config.jobs * 3, ms));
      engineJobs.values.push(rate(config.jobs, ms));
    });
    await withStore(async (store) => {
      const t0 = now();
      await writeJobs(store, config.jobs, randomUUID);
      engineV4.values.push(rate(config.jobs * 3, now() - t0));
    });
    await withStore(async (store) => {
      const t0 = now();
      await writeJobs(store, config.jobs, uuidv7, 100);
      const ms = now() - t0;
      grouped.values.push(rate(config.jobs * 3, ms));
      groupedJobs.values.push(rate(config.jobs, ms));
    });
    await withStore(async (store) => {
      const stream = `job-${uuidv7()}`;
      for (let b = 0; b < config.readStreamLength / 100; b++) {
        const events = Array.from({ length: 100 }, (_, i) => ({
          id: randomUUID(),
          type: 'JobProgressed',
          data: { attempt: 1, at: new Date().toISOString(), percent: i },
          metadata: metadata('x'),
        }));
        await mustAppend(store, stream, events, b === 0 ? 'no_stream' : b * 100 - 1);
      }
      const t0 = now();
      for (let r = 0; r < config.readRepeats; r++) {
        const read = await store.readStream(stream)();
        if (read._tag === 'Left' || read.right.length !== config.readStreamLength) throw new Error('the stream did not read back whole');
      }
      const ms = now() - t0;
      readStream.values.push(rate(config.readRepeats, ms));
      readEvents.values.push(rate(config.readRepeats * config.readStreamLength, ms));
    });
    if (runProjections !== undefined) {
      const run_ = runProjections;
      await withStore(async (store) => {
        const jobsNeeded = Math.ceil(config.foldEvents / 3);
        const t0 = now();
        await writeJobs(store, jobsNeeded, uuidv7, 1000);
        foldWrite.values.push(rate(jobsNeeded * 3, now() - t0));
        const t1 = now();
        const handle = await run_({
          store,
          logger: {
            info: () => undefined,
            warn: (_obj, msg) => console.error(`[projections] ${msg}`),
            error: (obj, msg) => console.error(`[projections] ${msg}`, obj),
          },
        });
        try {
          await handle.caughtUp({ timeoutMs: config.foldTimeoutMs });
          const ms = now() - t1;
          const delivered = Math.min(...handle.status().map((s) => s.delivered));
          const faults = handle.status().filter((s) => s.fault !== undefined);
          if (faults.length > 0) throw new Error(`a projection faulted: ${faults.map((s) => s.fault?.message).join('; ')}`);
          fold.values.push(rate(delivered, ms));
          console.log(
            `  run ${run}: folded ${delivered.toLocaleString('en-US')} events per projection (${handle.status().length} projections) in ${(ms / 1000).toFixed(1)} s, RSS ${rssMb()} MB`,
          );
        } catch (error) {
          const ms = now() - t1;
          const delivered = Math.min(...handle.status().map((s) => s.delivered));
          fold.note = `run ${run}: not caught up after ${(ms / 1000).toFixed(0)} s (${delivered} of ${jobsNeeded * 3} events): ${(error as Error).message.split('\n')[0]}`;
          console.log(`  ${fold.note}`);
          fold.values.push(rate(delivered, ms));
        } finally {
          await handle.stop();
        }
        await sleep(10);
      });
    }
    console.log(`  run ${run} done (${Math.round((Date.now() - started) / 1000)} s)`);
  }
  if (foldSkipped !== undefined) fold.note = `skipped: ${foldSkipped}`;

  const summary: Record<string, Spread | undefined> = Object.fromEntries(figures.map((f) => [f.key, spread(f.values)]));
  console.log('');
  console.log(`Figures: median (min–max) of ${config.runs} run(s).`);
  console.log(
    table(
      ['', 'embedded store (SQLite file)'],
      figures.map((f) => [f.label, f.note && f.values.length === 0 ? f.note : cell(summary[f.key])]),
    ),
  );
  for (const f of figures) if (f.note && f.values.length > 0) console.log(`note: ${f.note}`);
  const path = writeResults('store', {
    kind: 'store',
    startedAt: new Date(started).toISOString(),
    durationSeconds: Math.round((Date.now() - started) / 1000),
    config,
    machine: machine(),
    source: sourceState(),
    summary,
    figures,
  });
  console.log(`\nWritten to ${path}.`);
};

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
