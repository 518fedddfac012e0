// Issue 22: `defineWorker({ maxInterruptions })`: how many attempts cut short by a shutdown or a lost process are
// retried (not counted in maxAttempts), recorded with each job at enqueue. The enqueue's own option wins; neither
// given: the default (10), recorded as nothing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, type Engine } from '../../src/engine.js';
import { EnqueueRejectedError } from '../../src/conductor/index.js';
import { defineWorker, InvalidWorkerError } from '../../src/worker/index.js';

const test = suite('defineWorker({ maxInterruptions })');
const engines: Engine[] = [];
test.after.each(async () => {
  for (const e of engines.splice(0)) await e.close({ gracePeriodMs: 0 });
});

const enqueuedData = async (engine: Engine, jobId: string) => {
  const [first] = await engine.history(jobId);
  assert.is(first?.event.type, 'JobEnqueued');
  return first!.event.data as { maxInterruptions?: number };
};

test("the worker's maxInterruptions is recorded with the job; the enqueue's wins; neither records none", async () => {
  const careful = defineWorker({ name: 'careful', maxInterruptions: 2, action: async () => 'ok' });
  const plain = defineWorker({ name: 'plain', action: async () => 'ok' });
  const engine = await createEngine({ store: 'sqlite::memory:', workers: [careful, plain] });
  engines.push(engine);
  assert.is(careful.maxInterruptions, 2);
  const a = await engine.enqueue(careful, {});
  const b = await engine.enqueue(careful, {}, { maxInterruptions: 0 });
  const c = await engine.enqueue(plain, {});
  const d = await engine.enqueue('careful', {});
  assert.is((await enqueuedData(engine, a.jobId)).maxInterruptions, 2);
  assert.is((await enqueuedData(engine, b.jobId)).maxInterruptions, 0, "the enqueue's option wins");
  assert.is((await enqueuedData(engine, c.jobId)).maxInterruptions, undefined, 'the default: nothing recorded');
  assert.is((await enqueuedData(engine, d.jobId)).maxInterruptions, 2, 'by name too');
  assert.is((await engine.getJob(a.jobId))?.maxInterruptions, 2);
});

test('a bad value is refused: by the registry for the worker, at enqueue for the option (nothing recorded)', async () => {
  const bad = defineWorker({ name: 'bad', maxInterruptions: -1, action: async () => 'ok' });
  try {
    await createEngine({ store: 'sqlite::memory:', workers: [bad] });
    assert.unreachable('the registry refuses it');
  } catch (error) {
    assert.instance(error, InvalidWorkerError);
    assert.match((error as Error).message, 'maxInterruptions must be a whole number from 0 to 1000, got -1');
  }
  const ok = defineWorker({ name: 'ok', action: async () => 'ok' });
  const engine = await createEngine({ store: 'sqlite::memory:', workers: [ok] });
  engines.push(engine);
  try {
    await engine.enqueue(ok, {}, { jobId: 'half', maxInterruptions: 1.5 });
    assert.unreachable('refused');
  } catch (error) {
    assert.instance(error, EnqueueRejectedError);
    assert.match((error as Error).message, 'invalid maxInterruptions 1.5');
  }
  assert.is(await engine.getJob('half'), undefined);
});

test('maxInterruptions 0 on the worker: an attempt cut short by a shutdown is not retried', async () => {
  let started: () => void = () => undefined;
  const running = new Promise<void>((resolve) => (started = resolve));
  const fragile = defineWorker({
    name: 'fragile',
    maxInterruptions: 0,
    action: async (_p, ctx) => {
      started();
      await new Promise<never>((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    },
  });
  const engine = await createEngine({ store: 'sqlite::memory:', workers: [fragile] });
  engines.push(engine);
  await engine.start();
  const { jobId } = await engine.enqueue(fragile, {});
  await running;
  await engine.stop({ gracePeriodMs: 0 });
  const view = await engine.getJob(jobId);
  assert.is(view?.status, 'errored');
  assert.is(view?.retryAt, undefined, 'no retry: the one interruption allowed was none');
  const types = (await engine.history(jobId)).map((e) => e.event.type);
  assert.equal(types, ['JobEnqueued', 'JobStarted', 'JobErrored']);
});

test.run();
