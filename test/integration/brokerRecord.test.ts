// Issue 22: the store remembers its broker. The first engine that starts records its broker's kind (`BrokerSet` in
// `jobtrail-settings`); an engine with another kind is refused at start, enqueue, retry, cancel and triggerSchedule
// before it records anything; `setBroker` switches deliberately, recorded too. The guard runs on both event stores
// (SQLite, and EventStoreDB through the fake node); the engine's wiring on SQLite.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore, type StoreBackend } from '../../src/backends/index.js';
import { makeMemoryBroker } from '../../src/broker/memory/memoryBroker.js';
import type { Broker } from '../../src/broker/index.js';
import { BrokerMismatchError, makeBrokerGuard, settingsStreamName } from '../../src/conductor/index.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { ErrorCodes, isJobtrailError } from '../../src/errors/index.js';
import type { EventStore, RecordedEvent } from '../../src/eventStore/index.js';
import { makeEsdbEventStore } from '../../src/eventStore/esdb/index.js';
import { makeEmbeddedEventStore } from '../../src/eventStore/embedded/embeddedEventStore.js';
import { defineWorker } from '../../src/worker/index.js';
import { startFakeEsdb } from '../support/eventStoreFakeEsdb.js';
import { rabbitUrl } from '../support/rabbit.js';

const dir = mkdtempSync(join(tmpdir(), 'jobtrail-broker-record-'));
let files = 0;
const storeFile = () => `sqlite:${join(dir, `s${++files}.db`)}`;

/** The in-process broker under another kind's name: what the guard compares, without a RabbitMQ connection. */
const kindOf = (kind: string): Broker => ({ ...makeMemoryBroker(), kind });

const echo = defineWorker({ name: 'echo', action: async (p: unknown) => p });

const settings = async (store: EventStore): Promise<readonly RecordedEvent[]> => {
  const r = await store.readStream(settingsStreamName)();
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

const refusal = async (p: Promise<unknown>): Promise<BrokerMismatchError> => {
  try {
    await p;
  } catch (error) {
    assert.ok(isJobtrailError(error, ErrorCodes.BrokerMismatch), `a BrokerMismatchError, got ${String(error)}`);
    return error as BrokerMismatchError;
  }
  throw new Error('expected a BrokerMismatchError');
};

// The guard over each event store.
for (const [label, open] of [
  ['SQLite', async () => ({ store: makeEmbeddedEventStore({ path: ':memory:' }) as EventStore, stop: async () => undefined })],
  [
    'EventStoreDB (fake node)',
    async () => {
      const fake = await startFakeEsdb();
      return { store: makeEsdbEventStore({ connectionString: fake.connectionString }), stop: () => fake.stop() };
    },
  ],
] as const) {
  const test = suite(`the store remembers its broker: the guard on ${label}`);
  const guardOf = (store: EventStore, kind: string, processId: string, url?: string) =>
    makeBrokerGuard({
      store,
      kind,
      ...(url !== undefined ? { url } : {}),
      enabled: true,
      processId,
      meta: { engineVersion: 'test', origin: processId },
      now: () => new Date('2026-01-02T03:04:05.000Z'),
    });

  test('nothing recorded: checks pass and record nothing; the first claim records; another kind is then refused', async () => {
    const { store, stop } = await open();
    try {
      const memory = guardOf(store, 'memory', 'host:1:a');
      await memory.check('enqueue');
      assert.is((await settings(store)).length, 0, 'a check records nothing');
      const rabbit = guardOf(store, 'rabbitmq', 'host:2:b', 'amqp://guest:***@127.0.0.1:5672/');
      await rabbit.claim();
      const events = await settings(store);
      assert.equal(
        events.map((e) => [e.type, e.data]),
        [['BrokerSet', { kind: 'rabbitmq', at: '2026-01-02T03:04:05.000Z', url: 'amqp://guest:***@127.0.0.1:5672/', by: 'host:2:b' }]],
      );
      await rabbit.claim();
      assert.is((await settings(store)).length, 1, 'a second claim of the same kind records nothing');
      const late = guardOf(store, 'memory', 'host:3:c');
      const e = await refusal(late.check('enqueue'));
      assert.is(e.recorded.kind, 'rabbitmq');
      assert.is(e.kind, 'memory');
      assert.is(e.action, 'enqueue');
      await refusal(late.claim());
      assert.is((await settings(store)).length, 1, 'a refused claim records nothing');
    } finally {
      await stop();
    }
  });

  test('two first claims of different kinds at once: exactly one is recorded, the other refused', async () => {
    const { store, stop } = await open();
    try {
      const results = await Promise.allSettled([guardOf(store, 'memory', 'h:1:a').claim(), guardOf(store, 'rabbitmq', 'h:2:b').claim()]);
      assert.is(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results));
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      assert.ok(isJobtrailError(lost.reason, ErrorCodes.BrokerMismatch));
      assert.is((await settings(store)).length, 1);
    } finally {
      await stop();
    }
  });

  test('set switches deliberately, with by and reason; setting the same again records nothing', async () => {
    const { store, stop } = await open();
    try {
      await guardOf(store, 'memory', 'h:1:a').claim();
      const rabbit = guardOf(store, 'rabbitmq', 'h:2:b', 'amqp://guest:***@mq:5672/');
      await refusal(rabbit.check('enqueue'));
      const r = await rabbit.set({ by: 'ada', reason: 'moving to RabbitMQ' });
      assert.equal(r, {
        kind: 'rabbitmq',
        at: '2026-01-02T03:04:05.000Z',
        url: 'amqp://guest:***@mq:5672/',
        by: 'ada',
        reason: 'moving to RabbitMQ',
      });
      await rabbit.check('enqueue');
      await rabbit.set({ by: 'ada' });
      assert.is((await settings(store)).length, 2, 'the switch is recorded once');
      assert.equal(await guardOf(store, 'memory', 'h:3:c').read(), r);
      await refusal(guardOf(store, 'memory', 'h:3:c').check('retry'));
    } finally {
      await stop();
    }
  });

  test.run();
}

// The engine's wiring (SQLite).
const test = suite('the store remembers its broker: the engine');
const engines: Engine[] = [];
const stores: StoreBackend[] = [];
test.after.each(async () => {
  for (const e of engines.splice(0)) await e.close({ gracePeriodMs: 0 });
  for (const s of stores.splice(0)) await s.close();
});
test.after(() => rmSync(dir, { recursive: true, force: true }));
const engineOn = async (store: string | StoreBackend, broker: string | Broker, extra: { rememberBroker?: boolean } = {}) => {
  const engine = await createEngine({ store, broker, workers: [echo], ...extra });
  engines.push(engine);
  return engine;
};

test('before any engine starts, nothing is recorded and every broker may enqueue; the first start records its broker', async () => {
  const store = storeFile();
  const producer = await engineOn(store, kindOf('rabbitmq'));
  await producer.enqueue(echo, 1);
  assert.is(await producer.recordedBroker(), undefined, 'an enqueue records no broker');
  const worker = await engineOn(store, 'memory');
  await worker.start();
  const record = await worker.recordedBroker();
  assert.is(record?.kind, 'memory');
  assert.is(record?.by, worker.processId);
  assert.is(record?.url, undefined, 'the in-process broker has no URL');
});

test('an engine with another kind is refused at start, enqueue, enqueueMany, retry, cancel and triggerSchedule; nothing is recorded', async () => {
  const file = storeFile();
  const worker = await engineOn(file, 'memory');
  await worker.start();
  const { jobId } = await worker.enqueue(echo, 'x');
  await worker.waitForFinal([jobId], { timeoutMs: 10_000 });
  await worker.upsertSchedule('nightly', { cron: '0 3 * * *', worker: echo, payload: 1 });

  const store = await makeStore(file);
  stores.push(store);
  const before = (
    await store
      .readAll()()
      .then((r) => (E.isRight(r) ? r.right : []))
  ).length;
  // The CLI's "forgot --broker" case, reversed: the store's jobs are dispatched by memory, this engine has RabbitMQ.
  const wrong = await engineOn(store, rabbitUrl);
  const e = await refusal(wrong.enqueue(echo, 'y', { jobId: 'never' }));
  assert.match(e.message, "enqueue refused: this store's jobs are dispatched by memory");
  assert.not.match(e.message, 'guest:guest', 'no password');
  await refusal(wrong.enqueueMany([{ worker: echo, payload: 1 }]));
  await refusal(wrong.retry(jobId, { by: 'ada' }));
  await refusal(wrong.cancel(jobId, { by: 'ada' }));
  await refusal(wrong.triggerSchedule('nightly'));
  await refusal(wrong.start());
  await refusal(wrong.checkBroker());
  const after = (
    await store
      .readAll()()
      .then((r) => (E.isRight(r) ? r.right : []))
  ).length;
  assert.is(after, before, 'nothing was appended');
  assert.is(await wrong.getJob('never'), undefined);
  // Reads are not refused.
  assert.is((await wrong.getJob(jobId))?.status, 'completed');
  assert.ok((await wrong.history(jobId)).length > 0);
});

test('setBroker switches the store deliberately (recorded without the password); the old kind is then refused', async () => {
  const file = storeFile();
  const worker = await engineOn(file, 'memory');
  await worker.start();
  await worker.stop();
  const rabbit = await engineOn(file, rabbitUrl);
  const r = await rabbit.setBroker({ by: 'ada', reason: 'production' });
  assert.is(r.kind, 'rabbitmq');
  assert.is(r.by, 'ada');
  assert.is(r.reason, 'production');
  assert.ok(r.url !== undefined && r.url.includes(':***@') && !r.url.includes('guest:guest'), r.url);
  await rabbit.checkBroker();
  const memory = await engineOn(file, 'memory');
  await refusal(memory.enqueue(echo, 1));
});

test('rememberBroker: false neither records nor checks', async () => {
  const file = storeFile();
  const off = await engineOn(file, kindOf('rabbitmq'), { rememberBroker: false });
  await off.start();
  assert.is(await off.recordedBroker(), undefined, 'nothing recorded at start');
  const memory = await engineOn(file, 'memory');
  await memory.start();
  assert.is((await memory.recordedBroker())?.kind, 'memory');
  await off.enqueue(echo, 1);
});

test('the cost: one read of the record for many enqueues (none per job)', async () => {
  const inner = await makeStore('sqlite::memory:');
  stores.push(inner);
  let reads = 0;
  const store: StoreBackend = Object.assign(Object.create(inner) as StoreBackend, {
    readStream: (...args: Parameters<EventStore['readStream']>) => {
      if (args[0] === settingsStreamName) reads++;
      return inner.readStream(...args);
    },
  });
  const worker = await engineOn(store, 'memory');
  await worker.start();
  assert.is(reads, 1, 'start reads the record once (and records the broker)');
  const ids: string[] = [];
  for (let i = 0; i < 50; i++) ids.push((await worker.enqueue(echo, i)).jobId);
  await worker.enqueueMany(Array.from({ length: 50 }, (_, i) => ({ worker: echo, payload: i })));
  await worker.waitForFinal(ids, { timeoutMs: 10_000 });
  assert.is(reads, 1, 'no read per job');
  const producer = await engineOn(store, 'memory');
  for (let i = 0; i < 20; i++) await producer.enqueue(echo, i);
  assert.is(reads, 2, "another engine's enqueues: one read, at its first");
});

test.run();
