import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  makeEmbeddedEventStore,
  makeSqliteLease,
  type EmbeddedEventStore,
  type EventStore,
  type RecordedEvent,
  type StoreUnavailable,
} from '../../src/eventStore/index.js';
import { makeStore } from '../../src/backends/index.js';
import { anEvent, failsWith, left, right, sleep, someEvents, uniqueStream, waitFor } from '../support/eventStoreTesting.js';
import { observeFor } from '../support/waitFor.js';
import { eventStoreContract } from './eventStoreContract.js';

const temporaryDirectories: string[] = [];
const temporaryDirectory = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'jobtrail-events-'));
  temporaryDirectories.push(dir);
  return dir;
};
const removeTemporaryDirectories = (): void => {
  for (const dir of temporaryDirectories.splice(0)) rmSync(dir, { recursive: true, force: true });
};

eventStoreContract('sqlite in memory (sqlite::memory:)', () => makeStore('sqlite::memory:'));
eventStoreContract('sqlite file', async () => makeEmbeddedEventStore({ path: join(temporaryDirectory(), 'events.db') }));

const test = suite('embedded event store');
const opened: (EventStore | Database.Database)[] = [];
const open = (path: string, options: { busyTimeoutMs?: number; pollIntervalMs?: number } = {}): EmbeddedEventStore => {
  const store = makeEmbeddedEventStore({ path, ...options });
  opened.push(store);
  return store;
};
test.after.each(async () => {
  for (const handle of opened.splice(0)) {
    if ('kind' in handle) await handle.close();
    else if (handle.open) handle.close();
  }
});
test.after(removeTemporaryDirectories);

test('two stores on one file: each sees the other through readStream, conflicts and subscribe (polling)', async () => {
  const path = join(temporaryDirectory(), 'shared.db');
  const a = open(path, { pollIntervalMs: 20 });
  const b = open(path, { pollIntervalMs: 20 });
  const prefix = uniqueStream();
  const stream = `${prefix}.x`;
  const seenByA: RecordedEvent[] = [];
  const seenByB: RecordedEvent[] = [];
  const subA = a.subscribe({ streamPrefix: prefix }, { onEvent: (e) => void seenByA.push(e) });
  const subB = b.subscribe({ streamPrefix: prefix }, { onEvent: (e) => void seenByB.push(e) });
  const [first, second, third] = someEvents(3);
  await right(b.append(stream, [first!], { expectedRevision: 'no_stream' }));
  await waitFor('A to see B’s append', () => seenByA.length === 1, 2000);
  const conflict = await left(a.append(stream, [anEvent()], { expectedRevision: 'no_stream' }));
  assert.equal(conflict, { ...conflict, _tag: 'WrongExpectedRevision', actual: 0 });
  await right(a.append(stream, [second!, third!], { expectedRevision: 0 }));
  await waitFor('B to see A’s append', () => seenByB.length === 3, 2000);
  await waitFor('A to see its own append', () => seenByA.length === 3, 2000);
  assert.equal(
    seenByA.map((e) => e.id),
    [first!.id, second!.id, third!.id],
  );
  assert.equal(
    seenByB.map((e) => e.id),
    seenByA.map((e) => e.id),
  );
  assert.equal(
    (await right(b.readStream(stream))).map((e) => e.id),
    seenByA.map((e) => e.id),
  );
  await Promise.all([subA.stop(), subB.stop()]);
});

test('no_stream on a stream this store never saw (another store wrote it): a conflict, or the first result for a retry of the same events', async () => {
  // The store inserts a stream it does not know without looking first; "it was there" must still decide as a lookup would.
  const path = join(temporaryDirectory(), 'unseen.db');
  const a = open(path);
  const b = open(path);
  const stream = `${uniqueStream()}.x`;
  const [first, second] = someEvents(2);
  const written = await right(b.append(stream, [first!, second!], { expectedRevision: 'no_stream' }));
  const retried = await right(a.append(stream, [first!, second!], { expectedRevision: 'no_stream' }));
  assert.equal(retried, written);
  const conflict = await left(open(path).append(stream, [anEvent()], { expectedRevision: 'no_stream' }));
  assert.equal(conflict, { ...conflict, _tag: 'WrongExpectedRevision', actual: 1 });
  assert.equal(
    (await right(a.readStream(stream))).map((e) => e.id),
    [first!.id, second!.id],
  );
});

test('two stores on one file taking turns on the same streams: each append is checked against the other’s latest revision', async () => {
  // Each store remembers the revisions it wrote; the other's commits must make it forget them.
  const path = join(temporaryDirectory(), 'turns.db');
  const a = open(path);
  const b = open(path);
  const streams = [`${uniqueStream()}.1`, `${uniqueStream()}.2`];
  for (const stream of streams) await right(a.append(stream, [anEvent()], { expectedRevision: 'no_stream' }));
  for (let revision = 0; revision < 6; revision += 1) {
    const [writer, other] = revision % 2 === 0 ? [b, a] : [a, b];
    for (const stream of streams) {
      // Behind by one: a conflict that names the true revision.
      if (revision > 0) {
        const conflict = await left(other.append(stream, [anEvent()], { expectedRevision: revision - 1 }));
        assert.equal(conflict, { ...conflict, _tag: 'WrongExpectedRevision', actual: revision });
      }
      const r = await right(writer.append(stream, [anEvent()], { expectedRevision: revision }));
      assert.is(r.nextExpectedRevision, revision + 1);
    }
  }
  for (const stream of streams) {
    assert.equal(
      (await right(a.readStream(stream))).map((e) => e.revision),
      [0, 1, 2, 3, 4, 5, 6],
    );
  }
});

test('an append that throws inside a group commit fails alone; the others of its batch are committed', async () => {
  const store = open(join(temporaryDirectory(), 'defect.db'));
  const prefix = uniqueStream();
  await right(store.append(`${prefix}.seed`, [anEvent()], { expectedRevision: 'no_stream' }));
  // A trigger makes the insert of one stream's event fail, as a defect would, in the middle of a batch.
  store.database.exec(`CREATE TEMP TRIGGER refuse_bad BEFORE INSERT ON es_events
    WHEN (SELECT name FROM es_streams WHERE stream_key = NEW.stream_key) = '${prefix}.bad'
    BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
  try {
    const outcomes = await Promise.allSettled([
      store.append(`${prefix}.a`, [anEvent()], { expectedRevision: 'no_stream' })(),
      store.append(`${prefix}.bad`, [anEvent()], { expectedRevision: 'no_stream' })(),
      store.append(`${prefix}.seed`, [anEvent()], { expectedRevision: 0 })(),
      store.append(`${prefix}.b`, [anEvent()], { expectedRevision: 'no_stream' })(),
    ]);
    assert.equal(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
    assert.match(String((outcomes[1] as PromiseRejectedResult).reason), /refused by the test/);
  } finally {
    store.database.exec('DROP TRIGGER refuse_bad');
  }
  assert.is((await right(store.readStream(`${prefix}.a`))).length, 1);
  assert.is((await right(store.readStream(`${prefix}.seed`))).length, 2);
  assert.is((await right(store.readStream(`${prefix}.b`))).length, 1);
  assert.is((await right(store.readStream(`${prefix}.bad`))).length, 0);
  // The stream that failed can still be created, and the others go on from the revisions they reached.
  await right(store.append(`${prefix}.bad`, [anEvent()], { expectedRevision: 'no_stream' }));
  assert.is((await right(store.append(`${prefix}.seed`, [anEvent()], { expectedRevision: 1 }))).nextExpectedRevision, 2);
});

test('an append in the same process reaches a subscriber at once, without waiting for the poll', async () => {
  const store = open(join(temporaryDirectory(), 'live.db'), { pollIntervalMs: 60_000 });
  const prefix = uniqueStream();
  const seen: RecordedEvent[] = [];
  const subscription = store.subscribe({ streamPrefix: prefix }, { onEvent: (e) => void seen.push(e) });
  await sleep(20);
  await right(store.append(`${prefix}.x`, [anEvent()], { expectedRevision: 'no_stream' }));
  await waitFor('the live event', () => seen.length === 1, 1000);
  await subscription.stop();
});

/** Two connections to a new store file, polling every 20 ms, and a fresh stream prefix. */
const twoConnections = (file: string) => {
  const path = join(temporaryDirectory(), file);
  return { store: open(path, { pollIntervalMs: 20 }), other: open(path, { pollIntervalMs: 20 }), prefix: uniqueStream() };
};

test('dataFor: own events of the other types come with empty data and metadata, the listed types whole; another store’s whole', async () => {
  const { store, other, prefix } = twoConnections('data-for.db');
  const seen: RecordedEvent[] = [];
  const subscription = store.subscribe({ streamPrefix: prefix, dataFor: ['Wanted'] }, { onEvent: (e) => void seen.push(e) });
  await sleep(20);
  const own = [anEvent({ n: 1 }, 'Skipped', { m: 1 }), anEvent({ n: 2 }, 'Wanted', { m: 2 })];
  await right(store.append(`${prefix}.own`, own, { expectedRevision: 'no_stream' }));
  const theirs = anEvent({ n: 3 }, 'Skipped', { m: 3 });
  await right(other.append(`${prefix}.theirs`, [theirs], { expectedRevision: 'no_stream' }));
  await waitFor('three events', () => seen.length === 3, 5000);
  await subscription.stop();
  assert.equal(
    seen.map((e) => [e.type, e.revision, e.data, e.metadata['m']]),
    [
      ['Skipped', 0, {}, undefined],
      ['Wanted', 1, { n: 2 }, 2],
      ['Skipped', 0, { n: 3 }, 3],
    ],
  );
  assert.equal(ids(seen), [...ids(own), theirs.id]);
});

test('asText: own and read events come with their stored JSON text, data and metadata left empty; without it, decoded', async () => {
  const { store, other, prefix } = twoConnections('as-text.db');
  // One from another connection before the subscription starts (read back), one own after (from memory), one other after.
  const before = anEvent({ n: 1, s: 'é' }, 'Typed', { m: 1 });
  await right(other.append(`${prefix}.before`, [before], { expectedRevision: 'no_stream' }));
  const seen: RecordedEvent[] = [];
  const decoded: RecordedEvent[] = [];
  const subscription = store.subscribe({ streamPrefix: prefix, asText: true }, { onEvent: (e) => void seen.push(e) });
  const plain = store.subscribe({ streamPrefix: prefix }, { onEvent: (e) => void decoded.push(e) });
  await waitFor('the first event', () => seen.length === 1, 5000);
  const own = anEvent({ n: 2 }, 'Typed');
  await right(store.append(`${prefix}.own`, [own], { expectedRevision: 'no_stream' }));
  const after = anEvent({ n: 3 }, 'Typed', { m: 3 });
  await right(other.append(`${prefix}.after`, [after], { expectedRevision: 'no_stream' }));
  await waitFor('three events each', () => seen.length === 3 && decoded.length === 3, 5000);
  await Promise.all([subscription.stop(), plain.stop()]);
  assert.equal(ids(seen), [before.id, own.id, after.id]);
  assert.equal(
    seen.map((e) => [
      e.data,
      e.metadata,
      e.text?.data === undefined ? undefined : JSON.parse(e.text.data),
      JSON.parse(e.text?.metadata ?? 'null'),
    ]),
    decoded.map((e) => [{}, {}, e.data, e.metadata]),
  );
  assert.equal(
    decoded.map((e) => e.text),
    [undefined, undefined, undefined],
    'without the hint: no text',
  );
});

/** Resolves with `promise`, or fails the test when it takes longer than `ms`. */
const within = async <A>(what: string, ms: number, promise: Promise<A>): Promise<A> => {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
};
const ids = (events: readonly { readonly id: string }[]): string[] => events.map((e) => e.id);

test('skipOwnAppends: a subscription sees the other store’s appends in order and none of its own, commits interleaved A, B, A, B…', async () => {
  const path = join(temporaryDirectory(), 'skip-interleaved.db');
  const a = open(path, { pollIntervalMs: 20 });
  const b = open(path, { pollIntervalMs: 20 });
  const prefix = uniqueStream();
  const skipping: RecordedEvent[] = [];
  const everything: RecordedEvent[] = [];
  const errors: unknown[] = [];
  const subSkipping = a.subscribe(
    { streamPrefix: prefix, skipOwnAppends: true },
    { onEvent: (e) => void skipping.push(e), onError: (e) => void errors.push(e) },
  );
  const subEverything = a.subscribe(
    { streamPrefix: prefix },
    { onEvent: (e) => void everything.push(e), onError: (e) => void errors.push(e) },
  );
  const fromA: string[] = [];
  const fromB: string[] = [];
  for (let i = 0; i < 20; i += 1) {
    const ownBatch = someEvents(1 + (i % 3));
    await right(a.append(`${prefix}.a${i}`, ownBatch, { expectedRevision: 'no_stream' }));
    fromA.push(...ids(ownBatch));
    const otherBatch = someEvents(1 + (i % 2));
    await right(b.append(`${prefix}.b${i}`, otherBatch, { expectedRevision: 'no_stream' }));
    fromB.push(...ids(otherBatch));
  }
  // Positions only grow: once B's last event has arrived, every earlier event has had its turn.
  const all = ids(await right(a.readAll({ streamPrefix: prefix })));
  await waitFor('B’s last event on the skipping subscription', () => skipping.at(-1)?.id === fromB.at(-1), 5000);
  await waitFor('every event on the other subscription', () => everything.length === all.length, 5000);
  await Promise.all([subSkipping.stop(), subEverything.stop()]);
  assert.equal(ids(skipping), fromB, 'B’s events, in order, and nothing of A’s');
  assert.equal(ids(everything), all, 'without the hint: everything, in order');
  assert.equal(all.length, fromA.length + fromB.length);
  assert.equal(errors, []);
});

test('skipOwnAppends: a group commit of many own appends, pages of the other store’s events between own commits, and a retry of the other’s append', async () => {
  const path = join(temporaryDirectory(), 'skip-group.db');
  const a = open(path, { pollIntervalMs: 20 });
  const b = open(path, { pollIntervalMs: 20 });
  const prefix = uniqueStream();
  const skipping: RecordedEvent[] = [];
  const everything: RecordedEvent[] = [];
  let release!: () => void;
  const writesDone = new Promise<void>((done) => (release = done));
  // The first event's handler waits for every write, so that own commits pile up while the subscription is behind.
  const subSkipping = a.subscribe(
    { streamPrefix: prefix, skipOwnAppends: true },
    {
      onEvent: async (e) => {
        skipping.push(e);
        if (skipping.length === 1) await writesDone;
      },
    },
  );
  const subEverything = a.subscribe({ streamPrefix: prefix }, { onEvent: (e) => void everything.push(e) });
  const fromB: string[] = [];
  const appendB = async (stream: string, count: number) => {
    const events = someEvents(count);
    await right(b.append(`${prefix}.${stream}`, events, { expectedRevision: 'any' }));
    fromB.push(...ids(events));
    return events;
  };
  await appendB('first', 1);
  await waitFor('the first event to be held', () => skipping.length === 1, 5000);

  // 60 appends in one turn of the event loop: one write transaction, 60 contiguous own ranges.
  await Promise.all(
    Array.from({ length: 60 }, (_, i) => right(a.append(`${prefix}.group${i}`, someEvents(2), { expectedRevision: 'no_stream' }))),
  );
  await right(a.append(`${prefix}.big`, someEvents(700), { expectedRevision: 'no_stream' }));
  // More of B's events than a page, between two own commits.
  await appendB('many', 1200);
  await right(a.append(`${prefix}.after-many`, someEvents(3), { expectedRevision: 'no_stream' }));
  // A retries B's append (same ids, same expected revision): nothing is inserted, so nothing of B's is skipped.
  const retried = await appendB('retried', 2);
  const retry = await right(a.append(`${prefix}.retried`, retried, { expectedRevision: 'any' }));
  assert.is(retry.nextExpectedRevision, 1);
  assert.is((await left(a.append(`${prefix}.retried`, [anEvent()], { expectedRevision: 'no_stream' })))._tag, 'WrongExpectedRevision');
  await right(a.append(`${prefix}.last-own`, someEvents(1), { expectedRevision: 'no_stream' }));
  await appendB('last', 1);
  release();

  const all = ids(await right(a.readAll({ streamPrefix: prefix })));
  await waitFor('B’s last event on the skipping subscription', () => skipping.at(-1)?.id === fromB.at(-1), 10_000);
  await waitFor('every event on the other subscription', () => everything.length === all.length, 10_000);
  await Promise.all([subSkipping.stop(), subEverything.stop()]);
  assert.equal(ids(skipping), fromB, 'B’s events, in order, and nothing of A’s');
  assert.equal(ids(everything), all);
  assert.is(all.length, fromB.length + 60 * 2 + 700 + 3 + 1);
});

test('skipOwnAppends in memory: nothing of the store’s own appends arrives, and stop does not hang', async () => {
  const store = open(':memory:');
  const prefix = uniqueStream();
  const skipping: RecordedEvent[] = [];
  const everything: RecordedEvent[] = [];
  const subSkipping = store.subscribe({ streamPrefix: prefix, skipOwnAppends: true }, { onEvent: (e) => void skipping.push(e) });
  const subEverything = store.subscribe({ streamPrefix: prefix }, { onEvent: (e) => void everything.push(e) });
  await right(store.append(`${prefix}.one`, someEvents(3), { expectedRevision: 'no_stream' }));
  await Promise.all(
    Array.from({ length: 10 }, (_, i) => right(store.append(`${prefix}.group${i}`, someEvents(2), { expectedRevision: 'no_stream' }))),
  );
  await right(store.append(`${prefix}.big`, someEvents(600), { expectedRevision: 'no_stream' }));
  await waitFor('every event on the other subscription', () => everything.length === 3 + 20 + 600, 5000);
  await observeFor(100);
  assert.is(skipping.length, 0);
  await within('stopping the skipping subscription', 1000, subSkipping.stop());
  await subEverything.stop();
});

test('skipOwnAppends: own appends made before the subscription are still delivered (only later commits are skipped)', async () => {
  const store = open(join(temporaryDirectory(), 'skip-before.db'), { pollIntervalMs: 20 });
  const prefix = uniqueStream();
  const before = someEvents(2);
  await right(store.append(`${prefix}.before`, before, { expectedRevision: 'no_stream' }));
  const skipping: RecordedEvent[] = [];
  const subscription = store.subscribe({ streamPrefix: prefix, skipOwnAppends: true }, { onEvent: (e) => void skipping.push(e) });
  await waitFor('the earlier events', () => skipping.length === 2, 5000);
  await right(store.append(`${prefix}.later`, someEvents(2), { expectedRevision: 'no_stream' }));
  const other = open(store.database.name, { pollIntervalMs: 20 });
  const fromOther = anEvent();
  await right(other.append(`${prefix}.other`, [fromOther], { expectedRevision: 'no_stream' }));
  await waitFor('the other store’s event', () => skipping.length === 3, 5000);
  await subscription.stop();
  assert.equal(ids(skipping), [...ids(before), fromOther.id]);
});

test('a write lock held by another connection longer than the busy timeout is StoreUnavailable, not a throw', async () => {
  const path = join(temporaryDirectory(), 'busy.db');
  const store = open(path, { busyTimeoutMs: 50 });
  const stream = uniqueStream();
  await right(store.append(stream, [anEvent()], { expectedRevision: 'no_stream' }));
  const locker = new Database(path);
  opened.push(locker);
  locker.exec('BEGIN IMMEDIATE');
  const started = Date.now();
  const error = await left(store.append(stream, [anEvent()], { expectedRevision: 0 }));
  assert.is(error._tag, 'StoreUnavailable');
  assert.ok(Date.now() - started >= 40, 'it waited for the busy timeout');
  assert.ok((error as StoreUnavailable).cause instanceof Database.SqliteError);
  assert.is((await right(store.readStream(stream))).length, 1, 'readers are not blocked (WAL)');
  locker.exec('ROLLBACK');
  assert.is((await right(store.append(stream, [anEvent()], { expectedRevision: 0 }))).nextExpectedRevision, 1);
});

test('an idempotent re-append returns exactly the first result, position included', async () => {
  const store = open(':memory:');
  const stream = uniqueStream();
  await right(store.append(uniqueStream(), [anEvent()], { expectedRevision: 'any' }));
  const batch = someEvents(3);
  const first = await right(store.append(stream, batch, { expectedRevision: 'no_stream' }));
  await right(store.append(uniqueStream(), [anEvent()], { expectedRevision: 'any' }));
  assert.equal(await right(store.append(stream, batch, { expectedRevision: 'no_stream' })), first);
  assert.equal(await right(store.append(stream, batch, { expectedRevision: 'any' })), first);
  assert.equal(await right(store.append(stream, batch, { expectedRevision: 'stream_exists' })), first);
  const [last] = await right(store.readStream(stream, { fromRevision: 2 }));
  assert.is(first.position, last?.position);
});

test('a file store creates its directory and keeps its events across reopening', async () => {
  const path = join(temporaryDirectory(), 'nested', 'deeper', 'events.db');
  const stream = uniqueStream();
  const event = anEvent({ kept: true });
  const first = makeEmbeddedEventStore({ path });
  await right(first.append(stream, [event], { expectedRevision: 'no_stream' }));
  await first.close();
  assert.ok(existsSync(path));
  const second = open(path);
  const [read] = await right(second.readStream(stream));
  assert.equal([read?.id, read?.data], [event.id, { kept: true }]);
  assert.is(second.database.pragma('journal_mode', { simple: true }), 'wal');
});

test('a closed store answers StoreUnavailable', async () => {
  const store = makeEmbeddedEventStore({ path: ':memory:' });
  await store.close();
  assert.is((await left(store.append(uniqueStream(), [anEvent()], { expectedRevision: 'any' })))._tag, 'StoreUnavailable');
  assert.is((await left(store.readStream(uniqueStream())))._tag, 'StoreUnavailable');
  assert.is((await left(store.readAll()))._tag, 'StoreUnavailable');
  await store.close();
});

test('close stops subscriptions and waits for a running handler', async () => {
  const store = makeEmbeddedEventStore({ path: ':memory:' });
  const prefix = uniqueStream();
  await right(store.append(`${prefix}.x`, [anEvent()], { expectedRevision: 'no_stream' }));
  let finished = false;
  let started = false;
  store.subscribe(
    { streamPrefix: prefix },
    {
      onEvent: async () => {
        started = true;
        await sleep(100);
        finished = true;
      },
    },
  );
  await waitFor('the handler to start', () => started);
  await store.close();
  assert.ok(finished);
});

test('a position of another store kind is a TypeError', async () => {
  const store = open(':memory:');
  assert.ok(await failsWith(() => store.readAll({ after: '12/12' }), TypeError));
  assert.ok(await failsWith(() => store.append('', [], { expectedRevision: 'any' }), TypeError));
  assert.ok(await failsWith(() => store.append(uniqueStream(), [], { expectedRevision: -1 }), TypeError));
});

test('a lease in the file: one holder at a time, renewable, free once expired or released', async () => {
  const path = join(temporaryDirectory(), 'lease.db');
  let now = 1_000_000;
  const clock = () => now;
  const one = makeSqliteLease(open(path).database, { name: 'projections', holder: 'one', ttlMs: 1000, now: clock });
  const two = makeSqliteLease(open(path).database, { name: 'projections', holder: 'two', ttlMs: 1000, now: clock });
  const other = makeSqliteLease(open(path).database, { name: 'other', holder: 'two', ttlMs: 1000, now: clock });
  assert.equal(two.currentHolder(), { _tag: 'Right', right: undefined });
  assert.equal(one.tryAcquire(), { _tag: 'Right', right: true });
  assert.equal(two.tryAcquire(), { _tag: 'Right', right: false });
  assert.equal(other.tryAcquire(), { _tag: 'Right', right: true }, 'names are independent');
  assert.equal(two.currentHolder(), { _tag: 'Right', right: { holder: 'one', expiresAt: 1_001_000 } });
  now += 900;
  assert.equal(one.tryAcquire(), { _tag: 'Right', right: true }, 'renewed');
  now += 900;
  assert.equal(two.tryAcquire(), { _tag: 'Right', right: false }, 'the renewal still holds');
  now += 200;
  assert.equal(two.tryAcquire(), { _tag: 'Right', right: true }, 'expired, taken over');
  assert.equal(one.tryAcquire(), { _tag: 'Right', right: false });
  assert.equal(two.release(), { _tag: 'Right', right: undefined });
  assert.equal(one.currentHolder(), { _tag: 'Right', right: undefined });
  assert.equal(one.tryAcquire(), { _tag: 'Right', right: true });
});

test('a lease whose holder is known to be gone is taken over at once; a live one is not', async () => {
  const path = join(temporaryDirectory(), 'lease-gone.db');
  const gone = new Set<string>();
  const lease = (holder: string) =>
    makeSqliteLease(open(path).database, { name: 'projections', holder, ttlMs: 60_000, isHolderGone: (h) => gone.has(h) });
  const dead = lease('dead');
  const alive = lease('alive');
  const third = lease('third');
  assert.equal(dead.tryAcquire(), { _tag: 'Right', right: true });
  assert.equal(alive.tryAcquire(), { _tag: 'Right', right: false }, 'not expired, holder not known to be gone');
  gone.add('dead');
  assert.equal(alive.tryAcquire(), { _tag: 'Right', right: true }, 'taken over before expiry');
  assert.equal(third.tryAcquire(), { _tag: 'Right', right: false }, 'the new holder is alive');
  assert.equal(dead.tryAcquire(), { _tag: 'Right', right: false });
});

test.run();
