// Two copies of jobtrail in one process, as a workers module that imports
// another copy than the CLI's makes them: the sources (through tsx) and the
// compiled dist/ (built by `npm test`). What one copy made, the other accepts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as source from '../../../src/index.js';
import { loadWorkers } from '../../../src/worker/index.js';
import * as compiled from '../../../dist/index.js';

const test = suite('two copies of the library in one process');

test('they are two copies: their classes differ', () => {
  assert.is.not(source.Worker, compiled.Worker as unknown);
  assert.is.not(source.NonRetryableError, compiled.NonRetryableError as unknown);
});

test("a worker made with one copy is a Worker to the other, defineWorker's and a subclass's alike", () => {
  const defined = compiled.defineWorker({ name: 'other-copy', action: async () => 'ok' });
  class Subclassed extends compiled.Worker<unknown, string> {
    readonly name = 'other-copy-class';
    async action() {
      return 'ok';
    }
  }
  assert.ok(defined instanceof source.Worker);
  assert.ok(new Subclassed() instanceof source.Worker);
  assert.ok(Subclassed.prototype instanceof source.Worker, 'a subclass is recognised before it is instantiated');
  assert.not.ok(compiled.Worker.prototype instanceof source.Worker, "the base class's own prototype is not a worker");
  assert.not.ok({ name: 'x', action: async () => 1 } instanceof source.Worker, 'a look-alike object is not a worker');
});

test("the other copy's errors are recognised by class and by code", () => {
  const error = new compiled.NonRetryableError('no');
  assert.ok(error instanceof source.NonRetryableError);
  assert.ok(error instanceof source.JobtrailError);
  assert.ok(source.isJobtrailError(error, source.ErrorCodes.NonRetryable));
  assert.not.ok(error instanceof source.EnqueueRejectedError, 'a branded class does not accept another branded class');
  // A user's subclass of the other copy's error keeps both.
  class PaymentRefused extends compiled.NonRetryableError {}
  assert.ok(new PaymentRefused('card') instanceof source.NonRetryableError);
  assert.ok(new PaymentRefused('card') instanceof PaymentRefused);
  assert.not.ok(new source.NonRetryableError('x') instanceof PaymentRefused, 'an unbranded subclass keeps the prototype check');
});

test('an engine of one copy runs a worker of the other: a NonRetryableError of that copy fails the job at once', async () => {
  let attempts = 0;
  const refusing = compiled.defineWorker({
    name: 'refusing',
    maxAttempts: 5,
    action: async () => {
      attempts++;
      throw new compiled.NonRetryableError('not today');
    },
  });
  const greeting = compiled.defineWorker({
    name: 'greeting',
    action: async (p: { name: string }, ctx) => `hello ${p.name} (attempt ${ctx.attempt})`,
  });
  const engine = await source.createEngine({ store: 'sqlite::memory:', workers: [refusing, greeting] });
  try {
    await engine.start();
    const a = await engine.enqueue(refusing, {});
    const b = await engine.enqueue(greeting, { name: 'ada' });
    const [refused, greeted] = await engine.waitForFinal([a.jobId, b.jobId], { timeoutMs: 10_000 });
    assert.is(refused?.status, 'errored');
    assert.is(refused?.lastError?.name, 'NonRetryableError');
    assert.is(refused?.retryAt, undefined, 'no retry');
    assert.is(attempts, 1);
    assert.is(greeted?.status, 'completed');
    assert.is(greeted?.result, 'hello ada (attempt 1)');
  } finally {
    await engine.close();
  }
});

test('loadWorkers accepts a module whose workers come from the other copy', async () => {
  const workers = await loadWorkers(new URL('../../fixtures/compiledCopyWorkers.mjs', import.meta.url).pathname);
  assert.equal(workers.map((w) => w.name).sort(), ['compiled-class', 'compiled-defined']);
});

test.run();
