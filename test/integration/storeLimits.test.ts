// What the engine does with the store's refusals that no retry mends, on
// both stores: the 1 MiB per event limit (EventStoreDB's MaxAppendSize, kept
// by the embedded store too), a tombstoned job stream, and a secure
// EventStoreDB reached without credentials. The EventStoreDB cases run the
// real adapter and client against the fake server (BatchAppend path).
import { EventStoreDBClient } from '@eventstore/db-client';
import * as t from 'io-ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore } from '../../src/backends/index.js';
import { makeMemoryBroker } from '../../src/broker/index.js';
import { makeWorkHandler } from '../../src/conductor/dispatch.js';
import { createEngine } from '../../src/engine.js';
import { isJobtrailError, ErrorCodes } from '../../src/errors/index.js';
import { EnqueueRejectedError } from '../../src/conductor/enqueue.js';
import { defineWorker } from '../../src/worker/index.js';
import { installProjections } from '../../src/projections/esdb.js';
import { projectionsDir } from '../../src/projections/index.js';
import { startFakeEsdb, type FakeEsdb } from '../support/fakeEsdb/index.js';
import { addProjectionsService } from '../support/fakeEsdb/projections.js';

const test = suite('store limits: oversized events, deleted job streams, access denied');

const big = 'x'.repeat(1_100_000);
const fakes: FakeEsdb[] = [];
test.after(async () => {
  await Promise.all(fakes.map((f) => f.stop()));
});

const stores: Array<[string, () => Promise<string>]> = [
  ['sqlite', async () => 'sqlite::memory:'],
  [
    'esdb (fake server)',
    async () => {
      const fake = await startFakeEsdb({ services: (server, log) => void addProjectionsService(server, log) });
      fakes.push(fake);
      // engine.start sweeps awaiting continuations through the job-index projection: installed first, as users do.
      const client = EventStoreDBClient.connectionString(fake.connectionString);
      try {
        await installProjections(client, projectionsDir);
      } finally {
        await client.dispose();
      }
      return fake.connectionString;
    },
  ],
];

for (const [label, url] of stores) {
  test(`${label}: a result over 1 MiB records JobErrored ResultTooLarge, not retried; the job is final`, async () => {
    const worker = defineWorker({ name: `huge-${label}`, payload: t.type({}), maxAttempts: 3, action: async () => ({ report: big }) });
    const engine = await createEngine({
      store: await makeStore(await url()),
      broker: makeMemoryBroker(),
      workers: [worker],
    });
    try {
      await engine.start();
      const { jobId } = await engine.enqueue(worker, {});
      const [final] = await engine.waitForFinal([jobId], { timeoutMs: 20_000 });
      assert.is(final?.status, 'errored');
      assert.is(final?.attempts, 1, 'not retried: the action would return as much again');
      assert.is(final?.retryAt, undefined);
      assert.is(final?.lastError?.name, 'ResultTooLarge');
      assert.match(final?.lastError?.message ?? '', /at most 1048576 bytes per event/);
      const types = (await engine.history(jobId)).map((e) => e.event.type);
      assert.equal(types, ['JobEnqueued', 'JobStarted', 'JobErrored']);
    } finally {
      await engine.close();
    }
  });

  test(`${label}: a payload over 1 MiB is refused at enqueue with the reason; nothing is recorded`, async () => {
    const worker = defineWorker({ name: `big-payload-${label}`, payload: t.type({ text: t.string }), action: async () => undefined });
    const engine = await createEngine({
      store: await makeStore(await url()),
      broker: makeMemoryBroker(),
      workers: [worker],
    });
    try {
      await engine.start();
      let refused: unknown;
      try {
        await engine.enqueue(worker, { text: big }, { jobId: `too-big-${label.length}` });
      } catch (error) {
        refused = error;
      }
      assert.instance(refused, EnqueueRejectedError);
      assert.is((refused as EnqueueRejectedError).reason, 'InvalidPayload');
      assert.match((refused as Error).message, /at most 1048576 bytes per event/);
      assert.equal(await engine.history(`too-big-${label.length}`), []);
      assert.is(await engine.getJob(`too-big-${label.length}`), undefined);
    } finally {
      await engine.close();
    }
  });
}

test('esdb: a tombstoned job stream reads as no job, refuses a new enqueue of its id, and its delivery is dead-lettered with the reason', async () => {
  const fake = await startFakeEsdb();
  fakes.push(fake);
  const worker = defineWorker({ name: 'tomb', payload: t.type({}), action: async () => 'done' });
  const broker = makeMemoryBroker();
  const engine = await createEngine({ store: await makeStore(fake.connectionString), broker, workers: [worker] });
  const client = EventStoreDBClient.connectionString(fake.connectionString);
  try {
    await engine.enqueue(worker, {}, { jobId: 'gone' });
    await client.tombstoneStream('job-gone');
    assert.is(await engine.getJob('gone'), undefined, 'getJob: no job, not a throw');
    assert.equal(await engine.history('gone'), []);
    let refused: unknown;
    try {
      await engine.enqueue(worker, {}, { jobId: 'gone' });
    } catch (error) {
      refused = error;
    }
    assert.instance(refused, EnqueueRejectedError);
    assert.match((refused as Error).message, /deleted for good/);
  } finally {
    await client.dispose();
    await engine.close();
  }
});

test('esdb: a secure server without credentials fails engine.start with the fix, and a delivery is kept, never dead-lettered', async () => {
  const fake = await startFakeEsdb({ secure: { username: 'admin', password: 'changeit' } });
  fakes.push(fake);
  const worker = defineWorker({ name: 'denied', payload: t.type({}), action: async () => 'done' });
  const engine = await createEngine({
    store: await makeStore(fake.anonymousConnectionString),
    broker: makeMemoryBroker(),
    workers: [worker],
    recover: false,
  });
  try {
    let failed: unknown;
    try {
      await engine.start();
    } catch (error) {
      failed = error;
    }
    assert.ok(isJobtrailError(failed, ErrorCodes.StoreAccessDenied), `start failed with ${String(failed)}`);
    assert.match((failed as Error).message, /user:pass@|AllowAnonymousStreamAccess/);
  } finally {
    await engine.close();
  }

  // The work handler itself: the store refuses every read, so the message is handed back, not dead-lettered.
  const store = await makeStore(fake.anonymousConnectionString);
  const { makeJobStore } = await import('../../src/jobStore/index.js');
  const { makeWorkerRegistry } = await import('../../src/worker/index.js');
  const logged: string[] = [];
  const log = { error: (_: unknown, m: string) => logged.push(m), warn: () => undefined, info: () => undefined, debug: () => undefined };
  const handle = makeWorkHandler(
    {
      jobs: makeJobStore(store, { engineVersion: 'test' }),
      broker: makeMemoryBroker(),
      registry: makeWorkerRegistry([worker]),
      now: () => new Date(),
      random: () => 0,
      processId: 'test:1:x',
      backoff: async () => true,
      pause: async () => true,
      log: log as never,
    } as never,
    { abortAll: () => undefined } as never,
  );
  try {
    const disposition = await handle({
      body: Buffer.from(JSON.stringify({ jobId: 'j', attempt: 1 })),
      messageId: 'm',
      redelivered: false,
    } as never);
    assert.equal(disposition, { _tag: 'Requeue' });
    assert.ok(logged.some((m) => /refuses this process/.test(m)));
  } finally {
    await store.close();
  }
});

test.run();
