// Issue 22: the periodic sweep of a started engine. A job recorded but whose dispatch could not be published (the
// broker failed right after the append) is dispatched by the sweep of a running engine, within its interval and
// grace, and completes, with no restart: on the in-process broker and on RabbitMQ. And the heartbeat judgement of a
// process on another host.
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { makeStore } from '../../src/backends/index.js';
import { makeMemoryBroker, makeRabbitBroker, type Broker } from '../../src/broker/index.js';
import { EnqueueRejectedError, makeLiveness, processStreamName, ProcessEvents } from '../../src/conductor/index.js';
import { createEngine } from '../../src/engine.js';
import type { JobView } from '../../src/job/index.js';
import { silentLogger } from '../../src/log/index.js';
import { makeSleeper } from '../fixtures/workers.js';
import { deleteQueues, rabbitUrl } from '../support/rabbit.js';
import { readyTestStore, testMemoryStoreUrl, testStoreLabel } from '../support/testStore.js';

const test = suite(`the sweep (${testStoreLabel})`);
test.before(readyTestStore);

/** Wraps `inner` so that the next `failNext` publishes fail (as a broker that goes away right after the append). */
const flaky = (inner: Broker) => {
  let failures = 0;
  const broker: Broker = Object.assign(Object.create(inner) as Broker, {
    publish: (queue: string, message: Parameters<Broker['publish']>[1]) => {
      if (failures > 0) {
        failures--;
        return TE.left({ _tag: 'BrokerUnavailable' as const, message: 'connection lost (injected)' });
      }
      return inner.publish(queue, message);
    },
  });
  return { broker, failNext: (n = 1) => void (failures = n) };
};

const strandedJobIsSwept = async (inner: Broker, queue: string) => {
  const store = await makeStore(testMemoryStoreUrl());
  const { broker, failNext } = flaky(inner);
  const sleeper = makeSleeper(queue);
  const engine = await createEngine({
    store,
    broker,
    workers: [sleeper],
    acceptCommands: false,
    sweepIntervalMs: 500,
    sweepGraceMs: 1_000,
    // The store may be the tests' shared EventStoreDB, used with both brokers (issue 22).
    rememberBroker: false,
  });
  try {
    await engine.start();
    const jobId = `stranded-${randomUUID()}`;
    failNext();
    const enqueuedAt = Date.now();
    const error = await engine.enqueue(sleeper, { value: 'ran' }, { jobId }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(error, EnqueueRejectedError);
    assert.is((error as EnqueueRejectedError).reason, 'BrokerUnavailable');
    assert.is((await engine.getJob(jobId))?.status, 'initial', 'recorded, not dispatched');
    // Grace 1 s, sweeps every 0.5 s (±20 %, the first after 0.25–0.75 s): well within 10 s.
    const [view] = await engine.waitForFinal([jobId], { timeoutMs: 10_000 });
    assert.is(view!.status, 'completed');
    assert.is(view!.attempts, 1);
    assert.equal(view!.result, 'ran');
    const took = Date.now() - enqueuedAt;
    assert.ok(took >= 1_000, `not before the grace (${took} ms)`);
    const starts = (await engine.history(jobId)).filter((e) => e.event.type === 'JobStarted');
    assert.is(starts.length, 1);
  } finally {
    await engine.close({ gracePeriodMs: 0 });
    await store.close();
  }
};

test('in-process broker: a job whose dispatch failed after the append is dispatched by the sweep and completes, with no restart', async () => {
  const inner = makeMemoryBroker();
  try {
    await strandedJobIsSwept(inner, 'default');
  } finally {
    await inner.close();
  }
});

test('RabbitMQ: a job whose dispatch failed after the append is dispatched by the sweep and completes, with no restart', async () => {
  const queue = `test-sweep-${randomUUID()}`;
  const inner = await makeRabbitBroker({ url: rabbitUrl, connectionName: `jobtrail-test-${randomUUID()}` });
  try {
    await strandedJobIsSwept(inner, queue);
  } finally {
    await inner.close();
    await deleteQueues([`jobtrail.work.${queue}`, `jobtrail.work.${queue}.dead`]);
  }
});

test('a process on another host is gone when its heartbeats stop for 6 of its intervals, or when it says it stopped', async () => {
  const store = await makeStore(testMemoryStoreUrl());
  let now = Date.parse('2026-12-01T10:00:00Z');
  try {
    const deps = { store, processId: `here:${process.pid}:x`, now: () => new Date(now), log: silentLogger };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const liveness = makeLiveness(deps as any, { heartbeatIntervalMs: 5_000, missedHeartbeats: 6 });
    const other = `elsewhere-${randomUUID()}:4242:beef`;
    const view = (startedAt: string) => ({ workerId: other, startedAt, status: 'in_progress' }) as unknown as JobView;
    const beat = async (type: string, at: number) =>
      assert.ok(
        (
          await store.append(
            processStreamName(other),
            [{ id: randomUUID(), type, data: { at: new Date(at).toISOString(), intervalMs: 2_000 } }],
            {
              expectedRevision: 'any',
            },
          )()
        )._tag === 'Right',
      );
    const longAgo = new Date(now - 3_600_000).toISOString();
    assert.is(await liveness.isGone(view(longAgo)), false, 'no heartbeat stream: cannot be judged from here');
    await beat(ProcessEvents.heartbeat, now - 11_000);
    assert.is(await liveness.isGone(view(longAgo)), false, '11 s of silence, 6 × 2 s allowed');
    now += 2_000;
    assert.is(await liveness.isGone(view(longAgo)), true, '13 s of silence');
    assert.is(await liveness.isGone(view(new Date(now - 1_000).toISOString())), false, 'the attempt started a second ago');
    await beat(ProcessEvents.heartbeat, now);
    assert.is(await liveness.isGone(view(longAgo)), false, 'beats again');
    await beat(ProcessEvents.stopped, now);
    assert.is(await liveness.isGone(view(longAgo)), true, 'stopped');
  } finally {
    await store.close();
  }
});

test.run();
