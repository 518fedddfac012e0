// The job-throughput projection: after jobs of every outcome its charts count
// each one, and the counts are the same after the engine restarts on the same
// store (the test store: SQLite, or EventStoreDB with ESDB_URL, e.g. the fake
// through test/support/runAgainstFakeEsdb.ts); in the embedded runtime, a
// rebuild from the first event (the file changed) folds the very same states.
import { join } from 'node:path';
import * as t from 'io-ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeEmbeddedEventStore } from '../../src/eventStore/index.js';
import { createEngine, defineWorker, type Engine } from '../../src/index.js';
import {
  makeThroughputReader,
  runProjections,
  type EmbeddedProjectionQueries,
  type ThroughputCounts,
} from '../../src/projections/index.js';
import { projectionSource } from '../support/projectionFixtures.js';
import { tempDir, writeProjection } from '../support/projectionStores.js';
import { readyTestStore, testJobId, testStoreLabel, testStoreUrl } from '../support/testStore.js';
import { waitFor } from '../support/waitFor.js';

const test = suite(`job-throughput: counts by outcome, across restarts and rebuilds (${testStoreLabel})`);

const ok = defineWorker({ name: 'tp-ok', payload: t.type({}), action: async () => 'done' });
const broken = defineWorker({
  name: 'tp-broken',
  payload: t.type({}),
  maxAttempts: 1,
  action: async () => {
    throw new Error('always broken');
  },
});
const flaky = defineWorker({
  name: 'tp-flaky',
  payload: t.type({}),
  maxAttempts: 2,
  retryDelay: () => 50,
  action: async (_p, ctx) => {
    if (ctx.attempt === 1) throw new Error('first attempt fails');
    return 'second time lucky';
  },
});
const workers = [ok, broken, flaky];

const open = (store: string): Promise<Engine> => createEngine({ store, broker: 'memory', workers });

const weekAndHour = async (engine: Engine): Promise<{ hour: ThroughputCounts; week: ThroughputCounts }> => {
  const { queries } = await engine.projections();
  const history = await makeThroughputReader(queries).read();
  return { hour: history.ranges.hour.totals, week: history.ranges.week.totals };
};
const minus = (a: ThroughputCounts, b: ThroughputCounts): ThroughputCounts => ({
  enqueued: a.enqueued - b.enqueued,
  completed: a.completed - b.completed,
  failed: a.failed - b.failed,
  errored: a.errored - b.errored,
  cancelled: a.cancelled - b.cancelled,
});

/** Runs 6 jobs that complete, 3 that fail for good, 2 that fail once then complete, and cancels 2 delayed ones. */
const runJobs = async (engine: Engine, id: (s: string) => string): Promise<void> => {
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) ids.push((await engine.enqueue(ok, {}, { jobId: id(`ok-${i}`) })).jobId);
  for (let i = 0; i < 3; i++) ids.push((await engine.enqueue(broken, {}, { jobId: id(`broken-${i}`) })).jobId);
  for (let i = 0; i < 2; i++) ids.push((await engine.enqueue(flaky, {}, { jobId: id(`flaky-${i}`) })).jobId);
  // Two jobs due in an hour, cancelled before they run.
  const later = new Date(Date.now() + 3_600_000);
  for (let i = 0; i < 2; i++) {
    await engine.enqueue(ok, {}, { jobId: id(`delayed-${i}`), runAt: later });
    await engine.cancel(id(`delayed-${i}`), { by: 'test' });
  }
  const final = await engine.waitForFinal(ids, { timeoutMs: 20_000 });
  assert.equal(final.map((j) => j.status).sort(), [...Array(8).fill('completed'), ...Array(3).fill('errored')].sort());
};
const expected = { enqueued: 13, completed: 8, failed: 3, errored: 2, cancelled: 2 };

test('N jobs of each outcome are counted in the last hour and week; the counts survive a restart', async () => {
  const dir = tempDir();
  const store = testStoreUrl(dir.path);
  await readyTestStore();
  let engine = await open(store);
  try {
    await engine.start();
    // A shared server holds earlier runs' counts: what this run adds is compared.
    const before = await weekAndHour(engine);
    await runJobs(engine, testJobId);
    let after = before;
    await waitFor(
      async () => {
        after = await weekAndHour(engine);
        return JSON.stringify(minus(after.hour, before.hour)) === JSON.stringify(expected);
      },
      20_000,
      `the last hour to count ${JSON.stringify(expected)} more`,
      50,
    );
    assert.equal(minus(after.week, before.week), expected, 'so does the last week');
    await engine.close();

    engine = await open(store);
    await engine.start();
    const again = await weekAndHour(engine);
    assert.ok(again.hour.completed >= after.hour.completed && again.week.completed >= after.week.completed, 'nothing lost');
    if (!store.startsWith('esdb')) assert.equal(again, after, 'the same counts after a restart');
  } finally {
    await engine.close().catch(() => undefined);
    dir.remove();
  }
});

test('embedded: a rebuild from the first event (the file changed) folds the same states', async () => {
  const dir = tempDir();
  const file = join(dir.path, 'events.db');
  const engine = await open(`sqlite:${file}`);
  try {
    await engine.start();
    await runJobs(engine, (s) => s);
  } finally {
    await engine.close();
  }
  const store = makeEmbeddedEventStore({ path: file });
  const partitionsOf = async (queries: EmbeddedProjectionQueries) =>
    (await queries.listPartitions('job-throughput', { limit: 1000 })).partitions;
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  try {
    const before = await runProjections({ store, logger: quiet, leaseRetryMs: 50 });
    await before.caughtUp();
    const kept = await partitionsOf(before.queries);
    assert.ok(kept.length >= 1, 'partitions were kept');
    await before.stop();
    // The same file with one more comment line is another projection version, folded again from the start.
    const changed = writeProjection(dir.path, 'job-throughput', `${projectionSource('job-throughput')}\n// rebuilt\n`);
    const rebuilt = await runProjections({ store, files: [changed], logger: quiet, leaseRetryMs: 50 });
    try {
      await rebuilt.caughtUp();
      assert.is(rebuilt.status()[0]?.handled, 13 + 8 + 3 + 2 + 2, 'every counted event folded again from the first');
      assert.equal(await partitionsOf(rebuilt.queries), kept, 'the same states after folding again');
    } finally {
      await rebuilt.stop();
    }
  } finally {
    store.close();
    dir.remove();
  }
});

test.run();
