// The event-store contract: every adapter of the port must pass it.
// Behaviour only, through the port; unique stream names per test, so it also
// runs against a shared EventStoreDB.
import * as E from 'fp-ts/lib/Either.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { appendSize, maxAppendSize } from '../../src/eventStore/index.js';
import type {
  AppendTooLarge,
  EventData,
  EventStore,
  ExpectedRevision,
  RecordedEvent,
  StoreUnavailable,
  StreamDeleted,
  Subscription,
  WrongExpectedRevision,
} from '../../src/eventStore/index.js';
import { anEvent, failsWith, left, markPosition, right, sleep, someEvents, uniqueStream, waitFor } from '../support/eventStoreTesting.js';

const ids = (events: readonly { readonly id: string }[]): string[] => events.map((e) => e.id);

/**
 * What a harness can do to the store outside the port, for the cases that need it. `deleteStream`: EventStoreDB's soft
 * delete (`client.deleteStream`) or tombstone (`client.tombstoneStream`); only EventStoreDB has them, so its harnesses
 * pass it and the embedded store's do not (those cases are then skipped).
 */
export interface ContractTools {
  readonly deleteStream?: (stream: string, mode: 'soft' | 'hard') => Promise<void>;
}

/** Registers and runs the contract suite against stores made by `makeStore` (one per suite, closed at the end). */
export const eventStoreContract = (name: string, makeStore: () => Promise<EventStore>, tools: ContractTools = {}): void => {
  const test = suite(`event store contract: ${name}`);
  let store: EventStore;
  test.before(async () => {
    store = await makeStore();
  });
  test.after(async () => {
    await store.close();
  });

  const append = (stream: string, events: readonly EventData[], expectedRevision: ExpectedRevision) =>
    store.append(stream, events, { expectedRevision });
  const conflictOf = async (stream: string, events: readonly EventData[], expectedRevision: ExpectedRevision) => {
    const error = await left(append(stream, events, expectedRevision));
    assert.is(error._tag, 'WrongExpectedRevision', `expected a conflict, got ${JSON.stringify(error)}`);
    return error as WrongExpectedRevision;
  };
  const lengthOf = async (stream: string) => (await right(store.readStream(stream))).length;

  // ---- the head of the log ----

  test('headPosition: a subscription after it gets only what is appended later', async () => {
    const stream = uniqueStream();
    const before = anEvent({ n: 'before' });
    const later = anEvent({ n: 'later' });
    await right(append(stream, [before], 'no_stream'));
    const head = await right(store.headPosition());
    assert.type(head, 'string');
    const seen: string[] = [];
    const subscription = store.subscribe(
      { streamPrefix: stream, ...(head !== undefined ? { after: head } : {}) },
      { onEvent: (e) => void seen.push(e.id) },
    );
    try {
      await right(append(stream, [later], 0));
      await waitFor('the later event', () => seen.length >= 1);
      await sleep(200);
      assert.equal(seen, [later.id]);
    } finally {
      await subscription.stop();
    }
  });

  // ---- revisions and expected revisions ----

  test('revisions start at 0 per stream and a batch takes consecutive revisions', async () => {
    const stream = uniqueStream();
    const first = anEvent({ n: 0 });
    const batch = someEvents(2);
    assert.is((await right(append(stream, [first], 'no_stream'))).nextExpectedRevision, 0);
    assert.is((await right(append(stream, batch, 0))).nextExpectedRevision, 2);
    const events = await right(store.readStream(stream));
    assert.equal(
      events.map((e) => e.revision),
      [0, 1, 2],
    );
    assert.equal(ids(events), ids([first, ...batch]));
    assert.ok(events.every((e) => e.streamId === stream));
    const other = uniqueStream();
    assert.is((await right(append(other, [anEvent()], 'any'))).nextExpectedRevision, 0);
  });

  test('no_stream: appends to a missing stream, conflicts with an existing one', async () => {
    const stream = uniqueStream();
    await right(append(stream, [anEvent()], 'no_stream'));
    const conflict = await conflictOf(stream, [anEvent()], 'no_stream');
    assert.is(conflict.stream, stream);
    assert.is(conflict.expected, 'no_stream');
    assert.is(conflict.actual, 0);
    assert.is(await lengthOf(stream), 1);
  });

  test('any: appends whether or not the stream exists', async () => {
    const stream = uniqueStream();
    assert.is((await right(append(stream, [anEvent()], 'any'))).nextExpectedRevision, 0);
    assert.is((await right(append(stream, someEvents(2), 'any'))).nextExpectedRevision, 2);
    assert.is(await lengthOf(stream), 3);
  });

  test('stream_exists: conflicts with a missing stream (actual no_stream), appends to an existing one', async () => {
    const stream = uniqueStream();
    const conflict = await conflictOf(stream, [anEvent()], 'stream_exists');
    assert.is(conflict.expected, 'stream_exists');
    assert.is(conflict.actual, 'no_stream');
    assert.is(await lengthOf(stream), 0);
    await right(append(stream, [anEvent()], 'no_stream'));
    assert.is((await right(append(stream, [anEvent()], 'stream_exists'))).nextExpectedRevision, 1);
  });

  test('a revision: appends when it is the last one, conflicts when stale, ahead, or the stream is missing', async () => {
    const stream = uniqueStream();
    const onMissing = await conflictOf(stream, [anEvent()], 0);
    assert.is(onMissing.expected, 0);
    assert.is(onMissing.actual, 'no_stream');
    await right(append(stream, someEvents(2), 'no_stream'));
    const stale = await conflictOf(stream, [anEvent()], 0);
    assert.is(stale.expected, 0);
    assert.is(stale.actual, 1);
    const ahead = await conflictOf(stream, [anEvent()], 5);
    assert.is(ahead.expected, 5);
    assert.is(ahead.actual, 1);
    assert.is(await lengthOf(stream), 2);
    assert.is((await right(append(stream, [anEvent()], 1))).nextExpectedRevision, 2);
    assert.is(await lengthOf(stream), 3);
  });

  // ---- idempotence ----

  test('re-appending the same ids at the same expected revision succeeds once, even after the stream moved on', async () => {
    const stream = uniqueStream();
    const batch = someEvents(2);
    const next = anEvent();
    const first = await right(append(stream, batch, 'no_stream'));
    const again = await right(append(stream, batch, 'no_stream'));
    assert.is(again.nextExpectedRevision, first.nextExpectedRevision);
    assert.is(again.nextExpectedRevision, 1);
    await right(append(stream, [next], 1));
    assert.is((await right(append(stream, batch, 'no_stream'))).nextExpectedRevision, 1);
    assert.is((await right(append(stream, [next], 1))).nextExpectedRevision, 2);
    const events = await right(store.readStream(stream));
    assert.equal(ids(events), ids([...batch, next]));
  });

  test('re-appending the same ids with any succeeds without duplicating', async () => {
    const stream = uniqueStream();
    await right(append(stream, [anEvent()], 'any'));
    const batch = someEvents(3);
    const first = await right(append(stream, batch, 'any'));
    const again = await right(append(stream, batch, 'any'));
    assert.is(first.nextExpectedRevision, 3);
    assert.is(again.nextExpectedRevision, 3);
    assert.is(await lengthOf(stream), 4);
  });

  test('a batch that only partly repeats earlier ids is a conflict', async () => {
    const stream = uniqueStream();
    const [a, b] = someEvents(2) as [EventData, EventData];
    await right(append(stream, [a, b], 'no_stream'));
    const longer = await conflictOf(stream, [a, b, anEvent()], 'no_stream');
    assert.is(longer.actual, 1);
    await conflictOf(stream, [a, anEvent()], 'any');
    await conflictOf(stream, [b, anEvent()], 0);
    assert.equal(ids(await right(store.readStream(stream))), ids([a, b]));
  });

  // ---- empty batches ----

  test('an empty batch checks the expected revision and appends nothing', async () => {
    const missing = uniqueStream();
    assert.is((await right(append(missing, [], 'any'))).nextExpectedRevision, -1);
    assert.is((await right(append(missing, [], 'no_stream'))).nextExpectedRevision, -1);
    assert.is((await conflictOf(missing, [], 'stream_exists')).actual, 'no_stream');
    assert.is((await conflictOf(missing, [], 0)).actual, 'no_stream');
    assert.is(await lengthOf(missing), 0);

    const stream = uniqueStream();
    await right(append(stream, someEvents(2), 'no_stream'));
    assert.is((await right(append(stream, [], 1))).nextExpectedRevision, 1);
    assert.is((await right(append(stream, [], 'stream_exists'))).nextExpectedRevision, 1);
    assert.is((await right(append(stream, [], 'any'))).nextExpectedRevision, 1);
    const stale = await conflictOf(stream, [], 0);
    assert.is(stale.expected, 0);
    assert.is(stale.actual, 1);
    assert.is((await conflictOf(stream, [], 'no_stream')).actual, 1);
    assert.is((await conflictOf(stream, [], 2)).actual, 1);
    assert.is(await lengthOf(stream), 2);
  });

  // ---- defects ----

  test('an event id that is not a UUID is a TypeError, and nothing is appended', async () => {
    const stream = uniqueStream();
    const bad: EventData = { id: 'not-a-uuid', type: 'Tested', data: {} };
    assert.ok(await failsWith(() => append(stream, [anEvent(), bad], 'any')(), TypeError));
    assert.is(await lengthOf(stream), 0);
  });

  // ---- reading a stream ----

  test('readStream: a missing stream reads as empty', async () => {
    assert.equal(await right(store.readStream(uniqueStream())), []);
  });

  test('readStream: fromRevision and maxCount', async () => {
    const stream = uniqueStream();
    const events = someEvents(5);
    await right(append(stream, events, 'no_stream'));
    const middle = await right(store.readStream(stream, { fromRevision: 2, maxCount: 2 }));
    assert.equal(
      middle.map((e) => e.revision),
      [2, 3],
    );
    assert.equal(ids(middle), ids(events.slice(2, 4)));
    assert.equal(ids(await right(store.readStream(stream, { fromRevision: 3 }))), ids(events.slice(3)));
    assert.equal(ids(await right(store.readStream(stream, { maxCount: 1 }))), ids(events.slice(0, 1)));
    assert.equal(await right(store.readStream(stream, { fromRevision: 5 })), []);
    assert.equal(await right(store.readStream(stream, { maxCount: 0 })), []);
  });

  // ---- the global log ----

  test('readAll: global order across streams, from the start by default, paged with after', async () => {
    const prefix = uniqueStream();
    const a = `${prefix}.a`;
    const b = `${prefix}.b`;
    const [a1, b1, a2, b2, b3] = someEvents(5) as [EventData, EventData, EventData, EventData, EventData];
    await right(append(a, [a1], 'no_stream'));
    await right(append(b, [b1], 'no_stream'));
    await right(append(uniqueStream(), [anEvent()], 'no_stream'));
    await right(append(a, [a2], 0));
    await right(append(b, [b2, b3], 0));
    const all = await right(store.readAll({ streamPrefix: prefix }));
    assert.equal(ids(all), ids([a1, b1, a2, b2, b3]));
    assert.equal(
      all.map((e) => [e.streamId, e.revision]),
      [
        [a, 0],
        [b, 0],
        [a, 1],
        [b, 1],
        [b, 2],
      ],
    );

    const paged: RecordedEvent[] = [];
    let after: string | undefined;
    for (let pages = 0; pages < 10; pages += 1) {
      const page = await right(store.readAll({ streamPrefix: prefix, maxCount: 2, ...(after === undefined ? {} : { after }) }));
      if (page.length === 0) break;
      assert.ok(page.length <= 2);
      paged.push(...page);
      after = page[page.length - 1]?.position;
    }
    assert.equal(ids(paged), ids(all));
    assert.is(new Set(all.map((e) => e.position)).size, 5);
  });

  test('readAll: each position comes after the previous one (after excludes exactly what came before)', async () => {
    const prefix = uniqueStream();
    const events = someEvents(4);
    for (const [i, event] of events.entries()) {
      await right(append(`${prefix}.${i % 2}`, [event], 'any'));
    }
    const all = await right(store.readAll({ streamPrefix: prefix }));
    assert.equal(ids(all), ids(events));
    for (const [i, event] of all.entries()) {
      const rest = await right(store.readAll({ streamPrefix: prefix, after: event.position }));
      assert.equal(ids(rest), ids(events.slice(i + 1)), `after event ${i}`);
    }
  });

  test('readAll: the prefix filter, and system streams only when the prefix asks for them', async () => {
    const mark = await markPosition(store);
    const prefix = uniqueStream();
    const user = `${prefix}.user`;
    const system = `$${prefix}.system`;
    const other = uniqueStream();
    const [u, s, o] = someEvents(3) as [EventData, EventData, EventData];
    await right(append(system, [s], 'no_stream'));
    await right(append(user, [u], 'no_stream'));
    await right(append(other, [o], 'no_stream'));

    assert.equal(ids(await right(store.readAll({ after: mark, streamPrefix: user }))), [u.id]);
    assert.equal(ids(await right(store.readAll({ after: mark, streamPrefix: system }))), [s.id]);
    const everything = await right(store.readAll({ after: mark }));
    const seen = new Set(ids(everything));
    assert.ok(seen.has(u.id) && seen.has(o.id), 'user streams are read');
    assert.not.ok(seen.has(s.id), 'a system stream is left out without a prefix');
    assert.ok(everything.every((e) => !e.streamId.startsWith('$')));
    assert.not.ok(
      everything.some((e) => e.position === mark),
      'after is exclusive',
    );
    assert.equal(await right(store.readAll({ after: mark, streamPrefix: prefix, maxCount: 0 })), []);
  });

  // ---- what is stored ----

  test('data, metadata and the recorded fields round-trip; non-JSON data stays bytes', async () => {
    const stream = uniqueStream();
    const metadata = { $correlationId: 'c-1', $causationId: 'c-0', engine: { version: '0.1.0', tags: ['a', 1, null] } };
    const bytes = new Uint8Array([0, 255, 1, 128, 10, 13]);
    const written: EventData[] = [
      anEvent({ text: 'é ✓ \u0000', nested: { list: [1, 2.5, true, null] } }, 'ObjectData', metadata),
      anEvent(['x', 2], 'ArrayData'),
      anEvent('plain text', 'StringData'),
      anEvent(42, 'NumberData'),
      { id: anEvent().id, type: 'BinaryData', data: bytes, metadata: { kind: 'bytes' } },
      { id: anEvent().id, type: 'BufferData', data: Buffer.from('not json {') },
    ];
    const before = Date.now();
    await right(append(stream, written, 'no_stream'));
    const read = await right(store.readStream(stream));
    assert.equal(ids(read), ids(written));
    assert.equal(
      read.map((e) => e.type),
      written.map((e) => e.type),
    );
    assert.equal(
      read.map((e) => e.isJson),
      [true, true, true, true, false, false],
    );
    assert.equal(
      read.slice(0, 4).map((e) => e.data),
      written.slice(0, 4).map((e) => e.data),
    );
    assert.equal(read[0]?.metadata, metadata);
    assert.equal(read[1]?.metadata, {});
    assert.equal(read[4]?.metadata, { kind: 'bytes' });
    assert.instance(read[4]?.data, Uint8Array);
    assert.equal(Array.from(read[4]?.data as Uint8Array), Array.from(bytes));
    assert.equal(Buffer.from(read[5]?.data as Uint8Array).toString(), 'not json {');
    for (const event of read) {
      assert.match(event.created, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
      // Wide enough for a shared server's clock.
      assert.ok(Math.abs(Date.parse(event.created) - before) < 10 * 60_000, `created ${event.created}`);
    }
  });

  // ---- subscriptions ----

  const collector = () => {
    const events: RecordedEvent[] = [];
    const errors: (StoreUnavailable | Error)[] = [];
    return {
      events,
      errors,
      onEvent: (e: RecordedEvent) => void events.push(e),
      onError: (e: StoreUnavailable | Error) => void errors.push(e),
    };
  };

  test('subscribe: catches up, goes live in global order, and delivers nothing after stop', async () => {
    const prefix = uniqueStream();
    const early = someEvents(3);
    await right(append(`${prefix}.a`, early.slice(0, 2), 'no_stream'));
    await right(append(`${prefix}.b`, early.slice(2), 'no_stream'));
    const got = collector();
    const subscription = store.subscribe({ streamPrefix: prefix }, got);
    await waitFor('the catch-up', () => got.events.length >= 3);
    const live = someEvents(2);
    await right(append(`${prefix}.b`, [live[0] as EventData], 0));
    await right(append(`${prefix}.a`, [live[1] as EventData], 1));
    await waitFor('the live events', () => got.events.length >= 5);
    await subscription.stop();
    await right(append(`${prefix}.a`, [anEvent()], 2));
    await sleep(300);
    assert.equal(ids(got.events), ids([...early, ...live]));
    assert.equal(ids(await right(store.readAll({ streamPrefix: prefix }))).slice(0, 5), ids(got.events));
    assert.equal(got.errors, []);
  });

  test('subscribe: resuming from the last delivered position leaves no gap and no duplicate', async () => {
    const prefix = uniqueStream();
    const events = someEvents(12);
    const writing = (async () => {
      for (const [i, event] of events.entries()) {
        await right(append(`${prefix}.${i % 3}`, [event], 'any'));
        await sleep(i % 4 === 0 ? 10 : 0);
      }
    })();
    const first: RecordedEvent[] = [];
    let subscription: Subscription | undefined;
    subscription = store.subscribe(
      { streamPrefix: prefix },
      {
        onEvent: async (event) => {
          first.push(event);
          // Stopping from inside a handler must not wait for that handler.
          if (first.length === 5) await subscription?.stop();
        },
      },
    );
    await waitFor('five events', () => first.length >= 5);
    await subscription.stop();
    assert.is(first.length, 5);
    const checkpoint = first[4]?.position as string;
    const second = collector();
    subscription = store.subscribe({ streamPrefix: prefix, after: checkpoint }, second);
    await writing;
    await waitFor('the rest of the events', () => second.events.length >= 7);
    await sleep(100);
    await subscription.stop();
    assert.equal(ids([...first, ...second.events]), ids(events));
  });

  test('subscribe: each handler is awaited before the next event, and stop waits for a running handler', async () => {
    const prefix = uniqueStream();
    await right(append(`${prefix}.a`, someEvents(4), 'no_stream'));
    let running = 0;
    let mostAtOnce = 0;
    let finished = 0;
    const seen: number[] = [];
    const subscription = store.subscribe(
      { streamPrefix: prefix },
      {
        onEvent: async (event) => {
          running += 1;
          mostAtOnce = Math.max(mostAtOnce, running);
          seen.push(event.revision);
          await sleep(event.revision === 2 ? 200 : 15);
          running -= 1;
          finished += 1;
        },
      },
    );
    await waitFor('the third event', () => seen.length >= 3);
    await subscription.stop();
    assert.is(running, 0, 'no handler runs once stop resolved');
    assert.is(finished, 3);
    assert.is(mostAtOnce, 1);
    assert.equal(seen, [0, 1, 2]);
  });

  test('subscribe: a handler that throws stops the subscription and goes to onError', async () => {
    const prefix = uniqueStream();
    await right(append(`${prefix}.a`, someEvents(3), 'no_stream'));
    const boom = new Error('handler failed');
    const seen: number[] = [];
    const errors: (StoreUnavailable | Error)[] = [];
    const subscription = store.subscribe(
      { streamPrefix: prefix },
      {
        onEvent: (event) => {
          seen.push(event.revision);
          if (event.revision === 1) throw boom;
        },
        onError: (error) => void errors.push(error),
      },
    );
    await waitFor('onError', () => errors.length > 0);
    await right(append(`${prefix}.a`, [anEvent()], 2));
    await sleep(300);
    await subscription.stop();
    assert.equal(seen, [0, 1]);
    assert.equal(errors, [boom]);
  });

  test('subscribe: system streams only when the prefix asks for them; after is exclusive', async () => {
    const mark = await markPosition(store);
    const prefix = uniqueStream();
    const system = `$${prefix}`;
    const user = `${prefix}.user`;
    const everything = collector();
    const systemOnly = collector();
    const all = store.subscribe({ after: mark }, everything);
    const sys = store.subscribe({ after: mark, streamPrefix: system }, systemOnly);
    const [s, u] = someEvents(2) as [EventData, EventData];
    await right(append(system, [s], 'no_stream'));
    await right(append(user, [u], 'no_stream'));
    await waitFor('the user event', () => everything.events.some((e) => e.id === u.id));
    await waitFor('the system event', () => systemOnly.events.length > 0);
    await Promise.all([all.stop(), sys.stop()]);
    assert.not.ok(
      everything.events.some((e) => e.streamId.startsWith('$')),
      'no system stream without a prefix',
    );
    assert.not.ok(
      everything.events.some((e) => e.position === mark),
      'after is exclusive',
    );
    assert.equal(ids(systemOnly.events), [s.id]);
  });

  test('subscribe: skipOwnAppends is only a hint: what it delivers is in global order, and a subscriber without it still gets everything', async () => {
    const prefix = uniqueStream();
    const hinted = collector();
    const plain = collector();
    const skipping = store.subscribe({ streamPrefix: prefix, skipOwnAppends: true }, hinted);
    const everything = store.subscribe({ streamPrefix: prefix }, plain);
    const events = someEvents(5);
    await right(append(`${prefix}.a`, events.slice(0, 2), 'no_stream'));
    await Promise.all([
      right(append(`${prefix}.b`, events.slice(2, 4), 'no_stream')),
      right(append(`${prefix}.c`, events.slice(4), 'no_stream')),
    ]);
    await waitFor('every event without the hint', () => plain.events.length >= events.length);
    await sleep(200);
    await Promise.all([skipping.stop(), everything.stop()]);
    const all = ids(await right(store.readAll({ streamPrefix: prefix })));
    assert.equal(ids(plain.events), all);
    const delivered = ids(hinted.events);
    assert.equal(
      delivered,
      all.filter((id) => delivered.includes(id)),
      'a subsequence of the log, without repeats',
    );
    assert.equal([...hinted.errors, ...plain.errors], []);
  });

  test('subscribe: a long catch-up with synchronous handlers lets timers run', async () => {
    const prefix = uniqueStream();
    const total = 3000;
    await right(append(`${prefix}.bulk`, someEvents(total), 'no_stream'));
    let delivered = 0;
    let deliveredWhenTimerRan: number | undefined;
    const subscription = store.subscribe({ streamPrefix: prefix }, { onEvent: () => void (delivered += 1) });
    setTimeout(() => (deliveredWhenTimerRan = delivered), 0);
    await waitFor('the catch-up', () => delivered === total, 30_000);
    await subscription.stop();
    assert.ok(deliveredWhenTimerRan !== undefined && deliveredWhenTimerRan < total, `the timer ran at ${deliveredWhenTimerRan}`);
  });

  // ---- concurrency ----

  test('appends racing at one expected revision: exactly one wins, the others get the winner as actual', async () => {
    const stream = uniqueStream();
    await right(append(stream, [anEvent()], 'no_stream'));
    const racers = someEvents(8);
    const results = await Promise.all(racers.map((event) => append(stream, [event], 0)()));
    const winners = results.flatMap((r, i) => (E.isRight(r) ? [i] : []));
    assert.is(winners.length, 1);
    for (const result of results) {
      if (E.isLeft(result)) {
        assert.is(result.left._tag, 'WrongExpectedRevision');
        assert.is((result.left as WrongExpectedRevision).actual, 1);
      }
    }
    const events = await right(store.readStream(stream));
    assert.is(events.length, 2);
    assert.is(events[1]?.id, racers[winners[0] as number]?.id);

    const fresh = uniqueStream();
    const creators = await Promise.all(someEvents(5).map((event) => append(fresh, [event], 'no_stream')()));
    assert.is(creators.filter(E.isRight).length, 1);
    assert.is(await lengthOf(fresh), 1);
  });

  // ---- the size limit (one for both stores: EventStoreDB's default MaxAppendSize) ----

  /** A binary event whose size, as EventStoreDB counts it, is `size`: its data plus 2 × the length of its type. */
  const sizedEvent = (size: number): EventData => ({ ...anEvent(), type: 'Sized', data: new Uint8Array(size - 'Sized'.length * 2) });

  test('size limit: an append over maxAppendSize is AppendTooLarge and writes nothing; one of exactly maxAppendSize is taken', async () => {
    const stream = uniqueStream();
    const over = await left(append(stream, [sizedEvent(maxAppendSize + 1)], 'no_stream'));
    assert.is(over._tag, 'AppendTooLarge', `expected AppendTooLarge, got ${JSON.stringify(over)}`);
    assert.equal(
      [(over as AppendTooLarge).stream, (over as AppendTooLarge).size, (over as AppendTooLarge).limit],
      [stream, maxAppendSize + 1, maxAppendSize],
    );
    assert.is(await lengthOf(stream), 0);
    assert.is((await right(append(stream, [sizedEvent(maxAppendSize)], 'no_stream'))).nextExpectedRevision, 0);
    assert.is((await right(store.readStream(stream)))[0]?.type, 'Sized');
  });

  test('size limit: the whole batch counts, JSON data and metadata included, as appendSize measures it', async () => {
    const stream = uniqueStream();
    const half = (extra: number): EventData =>
      anEvent({ text: 'é'.repeat(Math.floor(maxAppendSize / 8)) + 'x'.repeat(extra) }, 'Half', { note: 'm' });
    const fitting = [half(0), half(0)];
    assert.ok(appendSize(fitting) <= maxAppendSize);
    const overflowing = [half(0), half(maxAppendSize - appendSize(fitting) + 1)];
    assert.is(appendSize(overflowing), maxAppendSize + 1, 'é is two bytes in UTF-8: the size counts bytes, not characters');
    const refused = await left(append(stream, overflowing, 'any'));
    assert.is(refused._tag, 'AppendTooLarge');
    assert.is((refused as AppendTooLarge).size, maxAppendSize + 1);
    assert.is(await lengthOf(stream), 0);
    assert.is((await right(append(stream, fitting, 'any'))).nextExpectedRevision, 1);
  });

  // ---- deleted streams (EventStoreDB only: the embedded store has no delete) ----

  const { deleteStream } = tools;
  if (deleteStream) {
    test('a soft-deleted stream reads as empty; no_stream writes it again, its revisions going on from before the delete', async () => {
      const stream = uniqueStream();
      await right(append(stream, someEvents(2), 'no_stream'));
      await deleteStream(stream, 'soft');
      assert.equal(await right(store.readStream(stream)), []);
      assert.is((await right(append(stream, [], 'no_stream'))).nextExpectedRevision, -1, 'an empty batch sees what readStream sees');
      const again = anEvent();
      assert.is((await right(append(stream, [again], 'no_stream'))).nextExpectedRevision, 2);
      const events = await right(store.readStream(stream));
      assert.equal(
        events.map((e) => [e.revision, e.id]),
        [[2, again.id]],
      );
      assert.is((await right(append(stream, [anEvent()], 2))).nextExpectedRevision, 3);
    });

    test('a stream deleted for good (tombstoned): StreamDeleted from readStream and append, whatever the expected revision', async () => {
      const stream = uniqueStream();
      await right(append(stream, [anEvent()], 'no_stream'));
      await deleteStream(stream, 'hard');
      const read = await left(store.readStream(stream));
      assert.is(read._tag, 'StreamDeleted');
      assert.is((read as StreamDeleted).stream, stream);
      for (const expected of ['any', 'no_stream', 'stream_exists', 0] as const) {
        assert.is((await left(append(stream, [anEvent()], expected)))._tag, 'StreamDeleted', `expected ${expected}`);
        assert.is((await left(append(stream, [], expected)))._tag, 'StreamDeleted', `an empty batch, expected ${expected}`);
      }
    });

    test('a tombstone in the log is not an event: readAll and subscribe pass over it', async () => {
      const prefix = uniqueStream();
      const before = anEvent();
      const after = anEvent();
      await right(append(`${prefix}.gone`, [before], 'no_stream'));
      await deleteStream(`${prefix}.gone`, 'hard');
      await right(append(`${prefix}.kept`, [after], 'no_stream'));
      assert.equal(ids(await right(store.readAll({ streamPrefix: prefix }))), [before.id, after.id]);
      const seen: RecordedEvent[] = [];
      const errors: unknown[] = [];
      const subscription = store.subscribe(
        { streamPrefix: prefix },
        { onEvent: (e) => void seen.push(e), onError: (e) => void errors.push(e) },
      );
      try {
        await waitFor('both events', () => seen.length === 2);
        await sleep(100);
      } finally {
        await subscription.stop();
      }
      assert.equal(ids(seen), [before.id, after.id]);
      assert.equal(errors, []);
    });
  }

  test.run();
};
