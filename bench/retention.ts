/**
 * `npm run bench:retention`: does the SQLite file stop growing when jobs expire? (docs/retention.md)
 *
 * No-op jobs through jobtrail's embedded mode (SQLite file + the in-process broker), in this process, with
 * `retention: { completed: <age> }` (`--retention 10s`; `forever` for the comparison without it). The producer keeps
 * at most `--backlog` jobs not yet completed. Every `--every` jobs it prints the jobs done, the file's size (the
 * database and its WAL), its pages and free pages, and the jobs still kept; at the end the JSON goes to
 * bench/results/retention-<timestamp>.json. Bounded in time by `--max-minutes` (default 10).
 *
 *   npm run bench:retention -- --jobs 1000000 --retention 10s --every 50000
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuration } from '../src/config/index.js';
import { createEngine, defineWorker } from '../src/index.js';
import { makeEmbeddedStore } from '../src/backends/embeddedStore.js';
import { parseBenchArgs, positiveInt } from './support/args.js';
import { machine, sourceState, writeResults } from './support/results.js';
import { makeLogger } from '../src/log/index.js';

const usage = `npm run bench:retention -- [options]

  --jobs N          jobs in all (default 1000000)
  --retention AGE   how long completed jobs are kept: 10s, 1m, … or forever (default 10s)
  --every N         print a line every N jobs (default 50000)
  --backlog N       most jobs enqueued but not completed (default 5000)
  --max-minutes N   stop after this long (default 10)`;

const args = parseBenchArgs(
  {
    jobs: { type: 'string' },
    retention: { type: 'string' },
    every: { type: 'string' },
    backlog: { type: 'string' },
    'max-minutes': { type: 'string' },
  },
  usage,
);
const retention = args.retention ?? '10s';
if (retention !== 'forever') parseDuration(retention, '--retention');
const config = {
  jobs: positiveInt('--jobs', args.jobs, 1_000_000),
  every: positiveInt('--every', args.every, 50_000),
  backlog: positiveInt('--backlog', args.backlog, 5000),
  maxMinutes: positiveInt('--max-minutes', args['max-minutes'], 10),
  retention,
  groupSize: 1000,
};

const dir = mkdtempSync(join(tmpdir(), 'jobtrail-bench-retention-'));
const file = join(dir, 'events.db');
const size = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};
const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

let completed = 0;
const worker = defineWorker({
  name: 'noop',
  concurrency: 100,
  action: async () => {
    completed += 1;
    return null;
  },
});
// The benchmark's store syncs as the default does (FULL); the pages measured are the same either way.
const store = makeEmbeddedStore({ path: file });
const engine = await createEngine({
  store,
  broker: 'memory',
  workers: [worker],
  recover: false,
  rememberBroker: false,
  ...(process.env.JOBTRAIL_LOG_LEVEL ? { logger: makeLogger({ level: process.env.JOBTRAIL_LOG_LEVEL }) } : {}),
  retention: retention === 'forever' ? 'forever' : { completed: retention, intervalMs: 1000 },
});
await engine.start();
// A second connection for the measurements (the store's own is busy with the engine).
const { default: Database } = await import('better-sqlite3');
const probe = new Database(file, { readonly: true });
const pragma = (name: string): number => probe.pragma(name, { simple: true }) as number;

interface Sample {
  readonly jobs: number;
  readonly seconds: number;
  readonly fileBytes: number;
  readonly walBytes: number;
  readonly pages: number;
  readonly freePages: number;
  readonly keptJobs: number;
}
const samples: Sample[] = [];
const started = Date.now();
const deadline = started + config.maxMinutes * 60_000;
const sample = (): Sample => {
  const keptJobs = (probe.prepare("SELECT count(*) AS n FROM es_streams WHERE name LIKE 'job-%'").get() as { n: number }).n;
  const s: Sample = {
    jobs: completed,
    seconds: Math.round((Date.now() - started) / 1000),
    fileBytes: size(file),
    walBytes: size(`${file}-wal`),
    pages: pragma('page_count'),
    freePages: pragma('freelist_count'),
    keptJobs,
  };
  samples.push(s);
  console.log(
    `${String(s.jobs).padStart(9)} jobs  ${String(s.seconds).padStart(5)} s  file ${mb(s.fileBytes).padStart(7)} MB  wal ${mb(s.walBytes).padStart(6)} MB  ` +
      `pages ${String(s.pages).padStart(8)} (free ${String(s.freePages).padStart(7)})  jobs kept ${s.keptJobs}`,
  );
  return s;
};

console.log(`retention bench: ${config.jobs} jobs, completed kept ${retention}, file ${file}`);
let enqueued = 0;
let nextSample = config.every;
while (enqueued < config.jobs && Date.now() < deadline) {
  if (enqueued - completed >= config.backlog) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  } else {
    const n = Math.min(config.groupSize, config.jobs - enqueued);
    await engine.enqueueMany(Array.from({ length: n }, () => ({ worker, payload: {} })));
    enqueued += n;
  }
  if (completed >= nextSample) {
    sample();
    nextSample += config.every;
  }
}
while (completed < enqueued && Date.now() < deadline + 60_000) await new Promise((resolve) => setTimeout(resolve, 20));
const last = sample();
const elapsed = (Date.now() - started) / 1000;
console.log(`${last.jobs} jobs in ${elapsed.toFixed(0)} s (${(last.jobs / elapsed).toFixed(0)} jobs/s)`);
probe.close();
await engine.close({ gracePeriodMs: 0 });
const out = writeResults('retention', { machine: machine(), source: sourceState(), config, samples, elapsedSeconds: elapsed });
console.log(`results: ${out}`);
rmSync(dir, { recursive: true, force: true });
