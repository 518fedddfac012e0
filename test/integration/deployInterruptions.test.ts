// Issue 22: a deploy must not cost attempts. An attempt interrupted by a
// graceful shutdown (the grace period ran out) is retried promptly, after a
// second, and is counted in `interruptions`, not against `maxAttempts`. Here a
// job of 2 attempts is interrupted three times, each time by stopping its
// engine (a short grace period while the action runs) and starting a new one
// on the same store, as a deploy does; it still completes on the next run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as t from 'io-ts';
import { makeStore, type StoreBackend } from '../../src/backends/index.js';
import { makeMemoryBroker } from '../../src/broker/memory/memoryBroker.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { defineWorker } from '../../src/worker/index.js';

const test = suite('deploys: interrupted attempts are retried promptly and do not count against maxAttempts');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-deploys-'));
let store: StoreBackend;
const engines: Engine[] = [];
test.before(async () => {
  store = await makeStore(`sqlite:${join(dir, 'events.db')}`);
});
test.after(async () => {
  for (const e of engines) await e.close({ gracePeriodMs: 0 });
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a job of maxAttempts 2 interrupted by three deploys completes on the fourth run, each retry due within a second', async () => {
  let runs = 0;
  let started: () => void = () => undefined;
  const worker = defineWorker({
    name: 'long-import',
    maxAttempts: 2,
    // the default backoff (Hangfire's: 15 s and more) is what an interrupted attempt must not wait
    payload: t.type({ file: t.string }),
    action: async (_payload, ctx) => {
      runs += 1;
      started();
      // The first three runs last longer than any grace period: only the shutdown ends them.
      if (runs <= 3)
        await new Promise<never>((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
      return 'imported';
    },
  });
  const processes = async (): Promise<{ engine: Engine; startedRun: Promise<void> }> => {
    const startedRun = new Promise<void>((resolve) => (started = resolve));
    const broker = makeMemoryBroker();
    const engine = await createEngine({ store, broker, workers: [worker], acceptCommands: false });
    engines.push(engine);
    await engine.start();
    return { engine, startedRun };
  };

  const t0 = Date.now();
  let jobId: string | undefined;
  for (let deploy = 1; deploy <= 3; deploy += 1) {
    const { engine, startedRun } = await processes();
    if (jobId === undefined) jobId = (await engine.enqueue(worker, { file: 'big.csv' })).jobId;
    await startedRun;
    // The deploy: stop with a short grace period while the action runs.
    await engine.close({ gracePeriodMs: 50 });
    const view = await engine.getJob(jobId);
    assert.ok(view, 'the job exists');
    assert.is(view.status, 'errored', `deploy ${deploy}: the attempt ended`);
    assert.is(view.attempts, deploy);
    assert.is(view.lastError?.name, 'Interrupted');
    assert.ok(
      view.retryAt !== undefined && view.erroredAt !== undefined,
      `deploy ${deploy}: a retry is scheduled although maxAttempts is 2`,
    );
    const wait = Date.parse(view.retryAt) - Date.parse(view.erroredAt);
    assert.ok(wait >= 900 && wait <= 1100, `deploy ${deploy}: retried after ~1 s, not after the backoff (${wait} ms)`);
    assert.is(view.interruptions, deploy, 'counted as an interruption');
  }

  const { engine } = await processes();
  const [done] = await engine.waitForFinal([jobId!], { timeoutMs: 15_000 });
  assert.is(done?.status, 'completed');
  assert.is(done?.result, 'imported');
  assert.is(done?.attempts, 4);
  assert.is(done?.interruptions, 3);
  assert.is(runs, 4);
  const history = await engine.history(jobId!);
  const interrupted = history.filter((h) => h.event.type === 'JobErrored' && h.event.data.interrupted === true);
  assert.is(interrupted.length, 3, 'three JobErrored marked interrupted');
  assert.ok(Date.now() - t0 < 15_000, `no backoff waited (${Date.now() - t0} ms in all)`);
});

test.run();
