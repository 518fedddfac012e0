// The EventStoreDB adapter through the real client against a fake server
// (test/support/eventStoreFakeEsdb.ts): the adapter's plumbing, not
// EventStoreDB's behaviour. The contract against a real server is
// eventStore.esdb.test.ts (ESDB_URL).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type EventStore, type RecordedEvent } from '../../src/eventStore/index.js';
import { makeEsdbEventStore } from '../../src/eventStore/esdb/index.js';
import { startFakeEsdb, type FakeEsdb } from '../support/eventStoreFakeEsdb.js';
import { anEvent, right, sleep, someEvents, uniqueStream, waitFor } from '../support/eventStoreTesting.js';
import { eventStoreContract } from './eventStoreContract.js';

let contractFake: FakeEsdb | undefined;
eventStoreContract('EventStoreDB adapter against a fake gRPC server', async () => {
  contractFake = await startFakeEsdb();
  const store = makeEsdbEventStore({ connectionString: contractFake.connectionString });
  const fake = contractFake;
  return { ...store, close: async () => (await store.close(), await fake.stop()) };
});

const test = suite('EventStoreDB adapter: faults, against a fake gRPC server');
let fake: FakeEsdb;
let store: EventStore;
test.before(async () => {
  fake = await startFakeEsdb();
  store = makeEsdbEventStore({ connectionString: fake.connectionString, retryBaseDelayMs: 10 });
});
test.after(async () => {
  await store.close();
  await fake.stop();
});

test('a dropped subscription resubscribes from the last event delivered: no gap, no duplicate', async () => {
  const prefix = uniqueStream();
  const events = someEvents(6);
  await right(store.append(`${prefix}.a`, events.slice(0, 3), { expectedRevision: 'no_stream' }));
  const seen: RecordedEvent[] = [];
  const errors: unknown[] = [];
  const subscription = store.subscribe(
    { streamPrefix: prefix },
    { onEvent: (e) => void seen.push(e), onError: (e) => void errors.push(e) },
  );
  await waitFor('the catch-up', () => seen.length === 3);
  const callsBefore = fake.subscriptionCalls;
  fake.dropSubscriptions();
  await right(store.append(`${prefix}.a`, events.slice(3), { expectedRevision: 2 }));
  await waitFor('the events after the drop', () => seen.length >= 6);
  await sleep(100);
  await subscription.stop();
  assert.ok(fake.subscriptionCalls > callsBefore, 'it subscribed again');
  assert.equal(
    seen.map((e) => e.id),
    events.map((e) => e.id),
  );
  assert.equal(errors, []);
});

test('an append whose ack was lost is retried and, the ids being the same, is not duplicated', async () => {
  const stream = uniqueStream();
  const batch = someEvents(2);
  fake.failNextAppends(1, true);
  const result = await right(store.append(stream, batch, { expectedRevision: 'no_stream' }));
  assert.is(result.nextExpectedRevision, 1);
  assert.equal(
    (await right(store.readStream(stream))).map((e) => e.id),
    batch.map((e) => e.id),
  );
});

test('an append refused while unavailable is retried', async () => {
  const stream = uniqueStream();
  fake.failNextAppends(2, false);
  assert.is((await right(store.append(stream, [anEvent()], { expectedRevision: 'any' }))).nextExpectedRevision, 0);
});

test('still unavailable after the attempts: StoreUnavailable', async () => {
  fake.failNextAppends(10, false);
  const result = await store.append(uniqueStream(), [anEvent()], { expectedRevision: 'any' })();
  fake.failNextAppends(0, false);
  assert.is(result._tag, 'Left');
  assert.is(result._tag === 'Left' ? result.left._tag : undefined, 'StoreUnavailable');
});

test.run();
