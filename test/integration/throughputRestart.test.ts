// The job-throughput projection in the embedded engine: after jobs of every
// outcome its charts count each one, the counts are the same after the engine
// restarts on the same file, and a rebuild from the first event (the file
// changed) folds the very same states.
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

const test = suite('job-throughput in the embedded engine: counts by outcome, across restarts and rebuilds');

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

const open = (file: string): Promise<Engine> => createEngine({ store: `sqlite:${file}`, broker: 'memory', workers });

/** The last hour's and the last week's totals, once the projections have caught up with the store. */
const totals = async (engine: Engine): Promise<{ hour: ThroughputCounts; week: ThroughputCounts }> => {
  const { queries, runtime } = await engine.projections();
  await runtime?.caughtUp({ timeoutMs: 15_000 });
  const history = await makeThroughputReader(queries).read();
  return { hour: history.ranges.hour.totals, week: history.ranges.week.totals };
};

test('N jobs of each outcome are counted; the counts survive a restart; a rebuild folds the same states', async () => {
  const dir = tempDir();
  const file = join(dir.path, 'events.db');
  let engine = await open(file);
  try {
    await engine.start();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await engine.enqueue(ok, {}, { jobId: `ok-${i}` })).jobId);
    for (let i = 0; i < 3; i++) ids.push((await engine.enqueue(broken, {}, { jobId: `broken-${i}` })).jobId);
    for (let i = 0; i < 2; i++) ids.push((await engine.enqueue(flaky, {}, { jobId: `flaky-${i}` })).jobId);
    // Two jobs due in an hour, cancelled before they run.
    const later = new Date(Date.now() + 3_600_000);
    for (let i = 0; i < 2; i++) {
      await engine.enqueue(ok, {}, { jobId: `later-${i}`, runAt: later });
      await engine.cancel(`later-${i}`, { by: 'test' });
    }
    const final = await engine.waitForFinal(ids, { timeoutMs: 20_000 });
    assert.equal(final.map((j) => j.status).sort(), [...Array(8).fill('completed'), ...Array(3).fill('errored')].sort());

    const expected = { enqueued: 13, completed: 8, failed: 3, errored: 2, cancelled: 2 };
    const first = await totals(engine);
    assert.equal(first.hour, expected, 'the last hour counts every outcome');
    assert.equal(first.week, expected, 'so does the last week');

    await engine.close();
    engine = await open(file);
    await engine.start();
    assert.equal(await totals(engine), first, 'the same counts after a restart');
    await engine.close();

    // Rebuild: the same file with one more comment line is another projection version, folded again from the start.
    const store = makeEmbeddedEventStore({ path: file });
    const partitionsOf = async (queries: EmbeddedProjectionQueries) =>
      (await queries.listPartitions('job-throughput', { limit: 1000 })).partitions;
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const before = await runProjections({ store, logger: quiet, leaseRetryMs: 50 });
    await before.caughtUp();
    const kept = await partitionsOf(before.queries);
    assert.ok(kept.length >= 1, 'partitions were kept');
    await before.stop();
    const changed = writeProjection(dir.path, 'job-throughput', `${projectionSource('job-throughput')}\n// rebuilt\n`);
    const rebuilt = await runProjections({ store, files: [changed], logger: quiet, leaseRetryMs: 50 });
    try {
      await rebuilt.caughtUp();
      assert.is(rebuilt.status()[0]?.handled, 13 + 8 + 3 + 2 + 2, 'every counted event folded again from the first');
      assert.equal(await partitionsOf(rebuilt.queries), kept, 'the same states after folding again');
    } finally {
      await rebuilt.stop();
      store.close();
    }
  } finally {
    await engine.close().catch(() => undefined);
    dir.remove();
  }
});

test.run();
