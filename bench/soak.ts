/**
 * `npm run bench:soak`: N no-op jobs (default 1,000,000; `--jobs N`;
 * `--quick` = 100,000) through jobtrail's embedded mode (SQLite file + the
 * in-process broker), in this process, with the worker at concurrency 100.
 *
 * The producer enqueues in groups of 1,000 concurrent `enqueue` calls and
 * keeps at most `--backlog` jobs (default 5,000) not yet completed, so that
 * memory measures the engine, not an ever-growing queue. Every 10 s it prints
 * the throughput of the last 10 s and the RSS; it records the RSS after 10% and
 * after 100% of the jobs and says whether the second stayed within 10% of the
 * first. RSS moves in a saw-tooth as V8 grows and shrinks its heap (±15% here
 * within seconds), so each point is taken after a full garbage collection
 * (and the sample just before it is printed as well): what is left is what
 * the process holds, and a leak shows as growth there. Bounded in time
 * (`--max-minutes`, default: as long as 100 jobs/s would take). The JSON goes to bench/results/soak-<timestamp>.json.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createEngine, defineWorker } from '../src/index.js';
import { makeStore } from '../src/backends/index.js';
import { makeMemoryBroker } from '../src/broker/index.js';
import { parseBenchArgs, positiveInt } from './support/args.js';
import { now } from './support/clock.js';
import { completionHook, countingStore, type Counts } from './support/counting.js';
import { mb, rssMb } from './support/memory.js';
import { machine, sourceState, writeResults } from './support/results.js';
import type { BenchJob } from './support/system.js';

const usage = `npm run bench:soak -- [options]

  --jobs N          jobs in all (default 1000000)
  --quick           100000 jobs
  --backlog N       most jobs enqueued but not completed (default 5000)
  --concurrency N   worker concurrency (default 100)
  --max-minutes N   stop after this long (default: jobs / 100 per second)`;

const args = parseBenchArgs(
  {
    jobs: { type: 'string' },
    quick: { type: 'boolean' },
    backlog: { type: 'string' },
    concurrency: { type: 'string' },
    'max-minutes': { type: 'string' },
  },
  usage,
);
const jobs = positiveInt('--jobs', args.jobs, args.quick === true ? 100_000 : 1_000_000);
const config = {
  jobs,
  backlog: positiveInt('--backlog', args.backlog, 5000),
  concurrency: positiveInt('--concurrency', args.concurrency, 100),
  maxMinutes: positiveInt('--max-minutes', args['max-minutes'], Math.ceil(jobs / 100 / 60)),
  groupSize: 1000,
  sampleSeconds: 10,
};

// A full, synchronous garbage collection on demand, without restarting node with --expose-gc.
setFlagsFromString('--expose-gc');
const fullGc = runInNewContext('gc') as () => void;

interface Sample {
  readonly seconds: number;
  readonly completed: number;
  readonly ratePerSecond: number;
  readonly rssMb: number;
  readonly heapUsedMb: number;
  readonly storeMb: number;
}

const main = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jobtrail-bench-soak-'));
  const file = join(dir, 'events.db');
  const counts: Counts = {};
  let completed = 0;
  let wake: (() => void) | undefined;
  const rawStore = await makeStore(`sqlite:${file}`);
  const store = completionHook(countingStore(rawStore, counts), () => {
    completed += 1;
    wake?.();
  });
  const broker = makeMemoryBroker();
  const worker = defineWorker<BenchJob>({ name: 'bench-noop', concurrency: config.concurrency, action: async () => undefined });
  const engine = await createEngine({ store, broker, workers: [worker], recover: false });
  await engine.start();
  console.log(
    `jobtrail bench:soak: ${config.jobs.toLocaleString('en-US')} no-op jobs, embedded mode (${file}), concurrency ${config.concurrency}, backlog ≤ ${config.backlog}`,
  );

  const storeMb = () => {
    let size = 0;
    for (const f of [file, `${file}-wal`]) {
      try {
        size += statSync(f).size;
      } catch {
        // not there (yet)
      }
    }
    return mb(size);
  };
  const samples: Sample[] = [];
  const t0 = now();
  let last = { t: t0, completed: 0 };
  const sample = (): Sample => {
    const t = now();
    const s: Sample = {
      seconds: Math.round((t - t0) / 100) / 10,
      completed,
      ratePerSecond: Math.round((completed - last.completed) / ((t - last.t) / 1000)),
      rssMb: rssMb(),
      heapUsedMb: mb(process.memoryUsage().heapUsed),
      storeMb: storeMb(),
    };
    last = { t, completed };
    return s;
  };
  const timer = setInterval(() => {
    const s = sample();
    samples.push(s);
    console.log(
      `  ${String(s.seconds).padStart(7)} s  ${s.completed.toLocaleString('en-US').padStart(10)} done  ${String(s.ratePerSecond).padStart(6)} jobs/s  RSS ${s.rssMb} MB  heap ${s.heapUsedMb} MB  store ${s.storeMb} MB`,
    );
  }, config.sampleSeconds * 1000);

  const deadline = t0 + config.maxMinutes * 60_000;
  let rssAt10: Sample | undefined;
  let rssAt100: Sample | undefined;
  let enqueued = 0;
  let stoppedEarly: string | undefined;
  const waitForCompleted = (n: number) =>
    new Promise<void>((resolve) => {
      if (completed >= n) return resolve();
      const check = setInterval(() => {
        if (now() > deadline) {
          clearInterval(check);
          resolve();
        }
      }, 1000);
      wake = () => {
        if (completed >= n) {
          clearInterval(check);
          wake = undefined;
          resolve();
        }
      };
    });
  /** The sample as it is, and then after a full collection (twice, with a turn between, for what the first one freed late). */
  const settledSample = async (): Promise<{ readonly before: Sample; readonly after: Sample }> => {
    const before = { ...sample(), ratePerSecond: NaN };
    fullGc();
    await sleep(50);
    fullGc();
    return { before, after: { ...sample(), ratePerSecond: NaN } };
  };
  let rawAt10: Sample | undefined;
  let rawAt100: Sample | undefined;
  const tenth = Math.ceil(config.jobs / 10);
  try {
    while (enqueued < config.jobs) {
      if (now() > deadline) {
        stoppedEarly = `stopped after ${config.maxMinutes} min (the time bound) with ${completed} of ${config.jobs} jobs done`;
        break;
      }
      // Keep the backlog bounded: wait until the jobs in flight drop below it.
      await waitForCompleted(enqueued + config.groupSize - config.backlog);
      if (rssAt10 === undefined && completed >= tenth) ({ before: rawAt10, after: rssAt10 } = await settledSample());
      const group: BenchJob[] = [];
      for (let i = enqueued; i < Math.min(config.jobs, enqueued + config.groupSize); i++) group.push({ i, t: now() });
      await Promise.all(group.map((job) => engine.enqueue('bench-noop', job)));
      enqueued += group.length;
    }
    await waitForCompleted(enqueued);
    if (completed >= config.jobs) ({ before: rawAt100, after: rssAt100 } = await settledSample());
    if (rssAt10 === undefined && completed >= tenth) [rawAt10, rssAt10] = [rawAt100, rssAt100];
  } finally {
    clearInterval(timer);
    await engine.close({ gracePeriodMs: 5_000 });
    await broker.close();
    await rawStore.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const seconds = (now() - t0) / 1000;
  const ratio = rssAt10 && rssAt100 ? rssAt100.rssMb / rssAt10.rssMb : undefined;
  const rawRatio = rawAt10 && rawAt100 ? rawAt100.rssMb / rawAt10.rssMb : undefined;
  const heapRatio = rssAt10 && rssAt100 ? rssAt100.heapUsedMb / rssAt10.heapUsedMb : undefined;
  console.log('');
  console.log(`${completed.toLocaleString('en-US')} jobs in ${seconds.toFixed(0)} s: ${Math.round(completed / seconds)} jobs/s on average`);
  if (stoppedEarly) console.log(stoppedEarly);
  const point = (label: string, raw: Sample | undefined, settled: Sample | undefined) =>
    console.log(
      `RSS after ${label}: ${settled?.rssMb ?? 'n/a'} MB after a full GC (heap ${settled?.heapUsedMb ?? 'n/a'} MB); ${raw?.rssMb ?? 'n/a'} MB just before it (heap ${raw?.heapUsedMb ?? 'n/a'} MB)`,
    );
  point(`10% (${tenth.toLocaleString('en-US')} jobs)`, rawAt10, rssAt10);
  point(`100% (${config.jobs.toLocaleString('en-US')} jobs)`, rawAt100, rssAt100);
  console.log(
    ratio === undefined
      ? 'RSS ratio: n/a (the run did not reach both points)'
      : `RSS ratio 100% / 10%, after a full GC: ${ratio.toFixed(3)} — ${Math.abs(ratio - 1) <= 0.1 ? 'stayed within 10%' : 'did NOT stay within 10%'} (heap ${heapRatio?.toFixed(3)}; the samples before the GC: ${rawRatio?.toFixed(3)})`,
  );
  console.log(
    `store calls per job: ${Object.entries(counts)
      .map(([k, v]) => `${k} ${(v / Math.max(1, completed)).toFixed(2)}`)
      .join(', ')}`,
  );
  const path = writeResults('soak', {
    kind: 'soak',
    config,
    machine: machine(),
    source: sourceState(),
    completed,
    seconds,
    averageRate: completed / seconds,
    stoppedEarly,
    rssAfter10Percent: rssAt10,
    rssAfter100Percent: rssAt100,
    rssRatio: ratio,
    beforeGc: { rssAfter10Percent: rawAt10, rssAfter100Percent: rawAt100, rssRatio: rawRatio },
    heapRatio,
    withinTenPercent: ratio === undefined ? undefined : Math.abs(ratio - 1) <= 0.1,
    counts,
    samples,
  });
  console.log(`Written to ${path}.`);
};

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
