import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeMemoryBroker, type Broker } from '../../src/broker/index.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { EnqueueManyError, EnqueueRejectedError, type EnqueueItem } from '../../src/conductor/index.js';
import type { EventStore } from '../../src/eventStore/index.js';
import { makeEmbeddedStore } from '../../src/backends/index.js';
import { replay } from '../../src/job/index.js';
import { defineWorker } from '../../src/worker/index.js';

const test = suite('enqueueMany: many jobs at once, every item checked before anything is recorded');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-enqueue-many-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
const ran: number[] = [];
const worker = defineWorker({
  name: 'count',
  payload: t.type({ n: t.number }),
  concurrency: 10,
  action: async ({ n }) => {
    ran.push(n);
  },
});

/** An engine on a fresh SQLite file; `broker` defaults to a memory broker. */
const open = async (broker: Broker = makeMemoryBroker(), storeOptions: { busyTimeoutMs?: number } = {}) => {
  const path = join(dir, `events-${files++}.db`);
  const store = makeEmbeddedStore({ path, ...storeOptions });
  const engine = await createEngine({ store, broker, workers: [worker], recover: false });
  const close = async () => {
    await engine.close({ gracePeriodMs: 1000 });
    await broker.close();
    await store.close();
  };
  return { engine, store, path, close };
};

/** The job streams the store holds. */
const jobStreams = async (store: EventStore): Promise<string[]> => {
  const r = await store.readAll({ streamPrefix: 'job-' })();
  if (E.isLeft(r)) throw new Error(r.left.message);
  return [...new Set(r.right.map((e) => e.streamId))];
};

const items = (from: number, to: number, options: (n: number) => EnqueueItem['options'] = () => undefined): EnqueueItem[] =>
  Array.from({ length: to - from }, (_, i) => ({
    workerName: 'count',
    payload: { n: from + i },
    ...(options(from + i) ? { options: options(from + i) } : {}),
  }));

const rejection = async (engine: Engine, input: unknown): Promise<EnqueueRejectedError> => {
  try {
    await engine.enqueueMany(input as EnqueueItem[]);
  } catch (error) {
    assert.instance(error, EnqueueRejectedError);
    return error as EnqueueRejectedError;
  }
  throw new Error(`enqueueMany(${JSON.stringify(input)?.slice(0, 100)}) was not refused`);
};

test('enqueues every item, in order, and each runs once with its own history', async () => {
  const { engine, store, close } = await open();
  try {
    ran.length = 0;
    const batch = items(0, 1500, (n) => (n === 7 ? { jobId: 'the-seventh', maxAttempts: 2 } : undefined));
    const enqueued = await engine.enqueueMany(batch);
    assert.is(enqueued.length, 1500);
    assert.ok(enqueued.every((e, i) => e.created && e.job.status === 'initial' && (e.job.payload as { n: number }).n === i));
    assert.is(enqueued[7]!.jobId, 'the-seventh');
    assert.is(enqueued[7]!.job.maxAttempts, 2);
    assert.is(new Set(enqueued.map((e) => e.jobId)).size, 1500);
    assert.is((await jobStreams(store)).length, 1500);

    await engine.start();
    const final = await engine.waitForFinal(
      enqueued.map((e) => e.jobId),
      { timeoutMs: 30_000 },
    );
    assert.ok(final.every((v) => v.status === 'completed'));
    assert.equal(
      [...ran].sort((a, b) => a - b),
      batch.map((_, i) => i),
    );
    const history = await engine.history('the-seventh');
    assert.equal(
      history.map((h) => h.event.type),
      ['JobEnqueued', 'JobStarted', 'JobCompleted'],
    );
    const folded = replay(history.map((h) => h.event));
    assert.ok(E.isRight(folded) && folded.right.status === 'completed', 'the history folds to a completed job');
  } finally {
    await close();
  }
});

test('an id enqueued before is a success that creates nothing new, as with enqueue', async () => {
  const { engine, store, close } = await open();
  try {
    await engine.enqueue('count', { n: 1 }, { jobId: 'first' });
    const enqueued = await engine.enqueueMany([
      { workerName: 'count', payload: { n: 2 }, options: { jobId: 'first' } },
      { workerName: 'count', payload: { n: 3 }, options: { jobId: 'second' } },
    ]);
    assert.equal(
      enqueued.map((e) => [e.jobId, e.created, (e.job.payload as { n: number }).n]),
      [
        ['first', false, 1],
        ['second', true, 3],
      ],
    );
    assert.equal(
      (await engine.history('first')).map((h) => h.event.type),
      ['JobEnqueued'],
    );
    assert.is((await jobStreams(store)).length, 2);
    assert.equal(await engine.enqueueMany([]), []);
  } finally {
    await close();
  }
});

test('one bad item refuses the batch, saying which and why, and records nothing', async () => {
  const { engine, store, close } = await open();
  try {
    const cases: [unknown, EnqueueRejectedError['reason'], RegExp][] = [
      [
        [...items(0, 3), { workerName: 'cuont', payload: { n: 3 } }],
        'UnknownWorker',
        /^item 3: unknown worker "cuont".*registered: count.*nothing was enqueued$/,
      ],
      [
        [...items(0, 2), { workerName: 'count', payload: { n: 'two' } }],
        'InvalidPayload',
        /^item 2: the payload does not match worker "count".*nothing was enqueued$/,
      ],
      [[{ workerName: 'count', payload: { n: 0 }, options: { runAt: 'tomorrow' } }], 'InvalidOptions', /^item 0: invalid runAt "tomorrow"/],
      [items(0, 4, (n) => (n % 2 === 0 ? { jobId: 'twice' } : undefined)), 'InvalidOptions', /^item 2: jobId "twice" is item 0's too/],
      [[...items(0, 1), null], 'InvalidOptions', /^item 1: expected \{ workerName \(or worker\), payload, options\? \}; got null/],
      [[{ workerName: 'count', payload: { n: 0 }, options: 'fast' }], 'InvalidOptions', /^item 0: options must be an object; got "fast"/],
      [{ workerName: 'count', payload: { n: 0 } }, 'InvalidOptions', /^enqueueMany takes an array/],
      [items(0, 10_001), 'InvalidOptions', /at most 10000 jobs at once; got 10001/],
    ];
    for (const [input, reason, message] of cases) {
      const error = await rejection(engine, input);
      assert.is(error.reason, reason);
      assert.match(error.message, message);
    }
    assert.equal(await jobStreams(store), []);
  } finally {
    await close();
  }
});

test('a broker failing part way: EnqueueManyError says which jobs are recorded but not dispatched; enqueueing them again dispatches them', async () => {
  const memory = makeMemoryBroker();
  let refuse = (_body: string) => false;
  const broker: Broker = Object.assign(Object.create(memory) as Broker, {
    publish: (queue: string, message: Parameters<Broker['publish']>[1]) =>
      refuse(message.body.toString())
        ? TE.left({ _tag: 'BrokerUnavailable' as const, message: 'connection lost (injected)' })
        : memory.publish(queue, message),
  });
  const { engine, close } = await open(broker);
  try {
    ran.length = 0;
    const batch = items(0, 20, (n) => ({ jobId: `job-of-${n}` }));
    refuse = (body) => /"jobId":"job-of-1[0-9]"/.test(body);
    let error: EnqueueManyError | undefined;
    try {
      await engine.enqueueMany(batch);
    } catch (e) {
      error = e as EnqueueManyError;
    }
    assert.instance(error, EnqueueManyError);
    assert.is(error!.failed, 10);
    assert.match(
      error!.message,
      /^10 of 20 jobs were not enqueued \(10 were\); item 10: job "job-of-10" is recorded but its dispatch could not be published/,
    );
    error!.outcomes.forEach((o, i) => {
      if (i < 10) assert.ok(!(o instanceof Error) && o.created && o.jobId === `job-of-${i}`, `item ${i} enqueued`);
      else
        assert.ok(
          o instanceof EnqueueRejectedError && o.reason === 'BrokerUnavailable' && o.jobId === `job-of-${i}`,
          `item ${i} not dispatched`,
        );
    });

    refuse = () => false;
    const again = await engine.enqueueMany(batch.slice(10));
    assert.ok(again.every((e) => !e.created && e.job.status === 'initial'));
    await engine.start();
    const final = await engine.waitForFinal(
      batch.map((b) => b.options!.jobId!),
      { timeoutMs: 30_000 },
    );
    assert.ok(final.every((v) => v.status === 'completed' && v.attempts === 1));
    assert.equal(
      [...ran].sort((a, b) => a - b),
      batch.map((_, i) => i),
    );
  } finally {
    await close();
  }
});

test('the store unavailable: every item says so with its jobId, and nothing is recorded or dispatched', async () => {
  const memory = makeMemoryBroker();
  let published = 0;
  const counting: Broker = Object.assign(Object.create(memory) as Broker, {
    publish: (queue: string, message: Parameters<Broker['publish']>[1]) => (published++, memory.publish(queue, message)),
  });
  const { engine, store, path, close } = await open(counting, { busyTimeoutMs: 20 });
  const locker = new Database(path);
  try {
    locker.exec('BEGIN EXCLUSIVE');
    let error: EnqueueManyError | undefined;
    try {
      await engine.enqueueMany(items(0, 5));
    } catch (e) {
      error = e as EnqueueManyError;
    }
    locker.exec('COMMIT');
    assert.instance(error, EnqueueManyError);
    assert.is(error!.failed, 5);
    assert.match(error!.message, /^5 of 5 jobs were not enqueued; item 0: job "[^"]+" was not enqueued: the store is unavailable/);
    assert.ok(
      error!.outcomes.every((o) => o instanceof EnqueueRejectedError && o.reason === 'StoreUnavailable' && typeof o.jobId === 'string'),
    );
    assert.is(published, 0);
    assert.equal(await jobStreams(store), []);
  } finally {
    locker.close();
    await close();
  }
});

test.run();
