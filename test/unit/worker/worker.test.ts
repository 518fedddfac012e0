import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as t from 'io-ts';
import {
  defineWorker,
  InvalidWorkerError,
  makeWorkerRegistry,
  normaliseError,
  quote,
  Worker,
  type JobContext,
} from '../../../src/worker/index.js';
import { silentLogger } from '../../../src/log/index.js';

const test = suite('workers, the registry, error normalisation');

class SendEmail extends Worker<{ to: string }> {
  readonly name = 'send-email';
  override readonly payload = t.type({ to: t.string });
  async action(): Promise<unknown> {
    return 'sent';
  }
}

test('the registry refuses two workers with the same name, naming both', () => {
  const a = new SendEmail();
  const b = defineWorker({ name: 'send-email', action: async () => undefined });
  try {
    makeWorkerRegistry([a, b]);
    assert.unreachable('two workers named send-email');
  } catch (error) {
    assert.instance(error, InvalidWorkerError);
    assert.match((error as Error).message, 'two workers are named "send-email": SendEmail and DefinedWorker');
  }
});

test('a registry lists names and queues, and says which workers exist when one is unknown', () => {
  const r = makeWorkerRegistry([new SendEmail(), defineWorker({ name: 'import-file', queue: 'imports', action: async () => undefined })]);
  assert.equal(r.names, ['import-file', 'send-email']);
  assert.equal(r.queues, ['default', 'imports']);
  assert.is(r.describeUnknown('send-emial'), 'unknown worker "send-emial"; registered: import-file, send-email');
  assert.is(r.get('send-email')?.name, 'send-email');
  assert.is(r.get('nope'), undefined);
});

test('unusable settings are refused with what is wrong', () => {
  for (const [options, text] of [
    [{ name: '', action: async () => undefined }, 'name must be'],
    [{ name: 'x', queue: 'a b', action: async () => undefined }, 'queue "a b"'],
    [{ name: 'x', maxAttempts: 0, action: async () => undefined }, 'maxAttempts'],
    [{ name: 'x', concurrency: 1.5, action: async () => undefined }, 'concurrency'],
    [{ name: 'x', timeoutMs: -1, action: async () => undefined }, 'timeoutMs'],
  ] as const) {
    assert.throws(
      () => makeWorkerRegistry([defineWorker(options)]),
      (e: Error) => e instanceof InvalidWorkerError && e.message.includes(text),
    );
  }
});

test('execute is the base class own, read-only property: a subclass cannot replace it, and the registry refuses one that tries', () => {
  class Sneaky extends SendEmail {
    // @ts-expect-error -- execute is a property of the base class, not a method to override
    execute(): Promise<string> {
      return Promise.resolve('replaced');
    }
  }
  const w = new Sneaky();
  assert.is(Object.getOwnPropertyDescriptor(w, 'execute')?.writable, false);
  assert.is.not(w.execute.toString(), Sneaky.prototype.execute.toString());
  assert.throws(() => {
    (w as unknown as { execute: unknown }).execute = () => 'x';
  });
  assert.throws(
    () => makeWorkerRegistry([w]),
    (e: Error) => e instanceof InvalidWorkerError && e.message.includes('defines execute(), which the engine implements'),
  );
  assert.not.throws(() => makeWorkerRegistry([new SendEmail()]));
});

test('whatever an action throws is normalised to a readable error', () => {
  const e = new TypeError('bad');
  assert.equal(normaliseError(e), { name: 'TypeError', message: 'bad', stack: e.stack });
  assert.equal(normaliseError('plain'), { name: 'NonErrorThrown', message: 'the action threw a string instead of an Error: plain' });
  assert.equal(normaliseError(undefined), {
    name: 'NonErrorThrown',
    message: 'the action threw a undefined instead of an Error: undefined',
  });
  assert.equal(normaliseError({ code: 42 }), {
    name: 'NonErrorThrown',
    message: 'the action threw a object instead of an Error: {"code":42}',
  });
  assert.equal(normaliseError(null), { name: 'NonErrorThrown', message: 'the action threw a null instead of an Error: null' });
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  assert.match(normaliseError(cyclic).message, 'the action threw a object');
});

test('quote cuts huge values', () => {
  assert.is(quote('abc'), '"abc"');
  const q = quote('x'.repeat(10_000));
  assert.ok(q.length < 260);
  assert.match(q, '(10002 characters)');
});

test('a class worker runs with the context it is given', async () => {
  const seen: JobContext[] = [];
  class Probe extends Worker {
    readonly name = 'probe';
    async action(_p: unknown, ctx: JobContext): Promise<unknown> {
      seen.push(ctx);
      return ctx.attempt;
    }
  }
  const ctx: JobContext = {
    jobId: 'j',
    attempt: 3,
    signal: new AbortController().signal,
    progress: async () => undefined,
    log: silentLogger,
  };
  assert.is(await new Probe().action({}, ctx), 3);
  assert.is(seen[0]?.jobId, 'j');
});

test.run();
