// The queue control stream `queue-<name>` (docs/queues.md): its codecs, its fold, and its store over a real (in-memory
// SQLite) event store: pause and resume record who, when and why; a pause of a paused queue records nothing.
import * as E from 'fp-ts/lib/Either.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeEmbeddedEventStore } from '../../../src/eventStore/embedded/embeddedEventStore.js';
import type { IsoDate } from '../../../src/job/index.js';
import {
  decodeQueueEvent,
  foldQueue,
  InvalidQueueError,
  makeQueueStore,
  QueueEvent,
  queueOfStream,
  queueStreamName,
  type QueueEvent as QueueEventT,
} from '../../../src/queues/index.js';
import { makeQueues } from '../../../src/queues/queues.js';
import { makeMemoryBroker } from '../../../src/broker/index.js';
import { makeWorkerRegistry } from '../../../src/worker/index.js';
import { silentLogger } from '../../../src/log/index.js';
import { makeJobStore } from '../../../src/jobStore/index.js';
import type { EventStore } from '../../../src/eventStore/index.js';
import { isJobtrailError, ErrorCodes } from '../../../src/errors/index.js';

const test = suite('queue control stream');
const at = (s: string) => s as IsoDate;

test('codecs: QueuePaused and QueueResumed with at, by and reason; anything else is refused', () => {
  const paused: QueueEventT = {
    type: 'QueuePaused',
    data: { queue: 'imports', at: at('2026-01-01T00:00:00.000Z'), by: 'ada', reason: 'deploy' },
  };
  assert.ok(E.isRight(QueueEvent.decode(paused)));
  assert.ok(E.isRight(QueueEvent.decode({ type: 'QueueResumed', data: { queue: 'imports', at: '2026-01-01T00:00:01.000Z' } })));
  assert.ok(E.isLeft(QueueEvent.decode({ type: 'QueuePaused', data: { queue: 'imports' } })), 'no time');
  assert.ok(E.isLeft(QueueEvent.decode({ type: 'QueuePaused', data: { queue: 'imports', at: 'yesterday' } })), 'not ISO');
  assert.ok(E.isLeft(QueueEvent.decode({ type: 'QueueDeleted', data: { queue: 'imports', at: '2026-01-01T00:00:00Z' } })));
  assert.ok(E.isLeft(QueueEvent.decode({ type: 'QueuePaused', data: { queue: 'imports', at: '2026-01-01T00:00:00Z', by: 7 } })));
  assert.is(queueStreamName('imports'), 'queue-imports');
  assert.is(queueOfStream('queue-a.b-c'), 'a.b-c');
  assert.is(queueOfStream('job-1'), undefined);
});

test('fold: no events is open; the last event decides, with its time, by and reason', () => {
  assert.equal(foldQueue('q', []), { queue: 'q', paused: false });
  const s = foldQueue('q', [
    { type: 'QueuePaused', data: { queue: 'q', at: at('2026-01-01T00:00:00.000Z'), by: 'ada', reason: 'deploy' } },
    { type: 'QueueResumed', data: { queue: 'q', at: at('2026-01-01T01:00:00.000Z'), by: 'bob' } },
  ]);
  assert.equal(s, { queue: 'q', paused: false, changedAt: '2026-01-01T01:00:00.000Z', by: 'bob' });
  assert.is(foldQueue('q', [{ type: 'QueuePaused', data: { queue: 'q', at: at('2026-01-01T00:00:00.000Z') } }]).paused, true);
});

const setup = (store: EventStore = makeEmbeddedEventStore({ path: ':memory:' }), processId = 'host:1:a') => {
  const queues = makeQueueStore(store, { engineVersion: 'test', origin: processId });
  let clock = Date.parse('2026-03-01T10:00:00.000Z');
  const conductor = {
    store,
    jobs: makeJobStore(store, { engineVersion: 'test', origin: processId }),
    broker: makeMemoryBroker(),
    registry: makeWorkerRegistry([]),
    log: silentLogger,
    now: () => new Date((clock += 1000)),
    random: Math.random,
    processId,
    backoff: async () => false,
  };
  return { store, queues, ops: makeQueues({ conductor, queues, consumers: () => undefined }) };
};

test('pause records QueuePaused (at, by, reason, metadata); a second pause records nothing and says so; resume records QueueResumed', async () => {
  const { store, ops } = setup();
  const first = await ops.pause('imports', { by: 'ada', reason: 'database migration' });
  assert.equal(
    { changed: first.changed, paused: first.paused, by: first.control.by, reason: first.control.reason },
    { changed: true, paused: true, by: 'ada', reason: 'database migration' },
  );
  const again = await ops.pause('imports', { by: 'bob', reason: 'me too' });
  assert.is(again.changed, false, 'a paused queue is not paused again');
  assert.is(again.control.by, 'ada', 'the result tells who paused it');
  const resumed = await ops.resume('imports', { by: 'carol' });
  assert.is(resumed.changed, true);
  assert.is(resumed.paused, false);
  assert.is((await ops.resume('imports')).changed, false);

  const r = await store.readStream('queue-imports')();
  assert.ok(E.isRight(r));
  const events = E.isRight(r) ? r.right : [];
  assert.equal(
    events.map((e) => e.type),
    ['QueuePaused', 'QueueResumed'],
  );
  assert.equal(events.map(decodeQueueEvent)[0]!.data, {
    queue: 'imports',
    at: '2026-03-01T10:00:01.000Z',
    by: 'ada',
    reason: 'database migration',
  });
  assert.is(events[0]!.metadata['by'], 'ada');
  assert.is(events[0]!.metadata['origin'], 'host:1:a');
  assert.is(events[1]!.data && (events[1]!.data as { by?: string }).by, 'carol');
});

test('two processes pausing at once: one QueuePaused, the other finds it paused (the append at the revision read)', async () => {
  const shared = makeEmbeddedEventStore({ path: ':memory:' });
  const a = setup(shared, 'host:1:a');
  const b = setup(shared, 'host:2:b');
  const results = await Promise.all([a.ops.pause('shared', { by: 'a' }), b.ops.pause('shared', { by: 'b' })]);
  assert.is(results.filter((r) => r.changed).length, 1, JSON.stringify(results));
  const r = await shared.readStream('queue-shared')();
  assert.is(E.isRight(r) ? r.right.length : -1, 1);
});

test('bad input is refused with InvalidQueueError, nothing recorded', async () => {
  const { store, ops } = setup();
  for (const bad of ['', 'has space', 'x'.repeat(101), 'a/b'] as const) {
    try {
      await ops.pause(bad);
      assert.unreachable(`"${bad}" was accepted`);
    } catch (error) {
      assert.ok(error instanceof InvalidQueueError, String(error));
      assert.ok(isJobtrailError(error, ErrorCodes.InvalidQueue));
      assert.match((error as Error).message, /invalid queue name/);
    }
  }
  try {
    await ops.pause('ok', { reason: 'r'.repeat(501) });
    assert.unreachable('a long reason was accepted');
  } catch (error) {
    assert.ok(error instanceof InvalidQueueError);
  }
  const all = await store.readAll({ streamPrefix: 'queue-' })();
  assert.is(E.isRight(all) ? all.right.length : -1, 0, 'nothing recorded');
});

test('an undecodable event in a queue stream is a defect naming its stream and revision', async () => {
  const { store, queues } = setup();
  await store.append('queue-broken', [{ id: crypto.randomUUID(), type: 'QueuePaused', data: { queue: 'broken' } }], {
    expectedRevision: 'no_stream',
  })();
  try {
    await queues.load('broken')();
    assert.unreachable('decoded');
  } catch (error) {
    assert.match((error as Error).message, /queue-broken/);
  }
});

test.run();
