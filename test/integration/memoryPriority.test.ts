import * as t from 'io-ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine } from '../../src/engine.js';
import { defineWorker } from '../../src/worker/index.js';
import { readyTestStore, testMemoryStoreUrl, testStoreLabel } from '../support/testStore.js';

// The engine on the in-process broker: a job's priority orders its dispatches (higher first, FIFO within one).
const test = suite(`priorities on the in-process broker (${testStoreLabel})`);
test.before(readyTestStore);

test('a high-priority job enqueued behind a backlog starts first, and keeps its priority on a retry', async () => {
  const started: string[] = [];
  let failedOnce = false;
  const worker = defineWorker({
    name: `prio-memory-${process.pid}`,
    queue: `prio-memory-${process.pid}`,
    concurrency: 1,
    retryDelay: () => 30,
    payload: t.type({ label: t.string }),
    action: async (p) => {
      started.push(p.label);
      if (p.label === 'high' && !failedOnce) {
        failedOnce = true;
        throw new Error('planned failure of the first attempt');
      }
      // Slow enough that the retry of the high job is due while normal jobs still wait.
      await new Promise((r) => setTimeout(r, 5));
      return null;
    },
  });
  const engine = await createEngine({ store: testMemoryStoreUrl(), broker: 'memory', workers: [worker] });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push((await engine.enqueue(worker.name, { label: `normal-${i}` })).jobId);
    ids.push((await engine.enqueue(worker.name, { label: 'high' }, { priority: 5 })).jobId);
    await engine.start();
    const views = await engine.waitForFinal(ids, { timeoutMs: 30_000 });
    assert.ok(views.every((v) => v?.status === 'completed'));
    assert.is(started[0], 'high');
    // The retry (a delayed dispatch) enters ahead of the normal jobs still waiting.
    const retry = started.indexOf('high', 1);
    assert.ok(retry > 0 && retry < 20, `the retry of the high-priority job started ${retry + 1}th of ${started.length}`);
    assert.equal(
      started.filter((l) => l !== 'high'),
      Array.from({ length: 50 }, (_, i) => `normal-${i}`),
    );
  } finally {
    await engine.close({ gracePeriodMs: 0 });
  }
});

test.run();
