// The EventStoreDB adapter against an address where nothing listens: no server
// needed. Checks that the client's errors come out as StoreUnavailable values
// after the retries, never as throws.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type EventStore, type StoreUnavailable } from '../../src/eventStore/index.js';
import { makeEsdbEventStore } from '../../src/eventStore/esdb/index.js';
import { anEvent, failsWith, left, uniqueStream, waitFor } from '../support/eventStoreTesting.js';

const test = suite('EventStoreDB adapter, server unreachable');
let store: EventStore;
test.before(() => {
  store = makeEsdbEventStore({
    connectionString: 'esdb://127.0.0.1:1?tls=false',
    maxAttempts: 2,
    retryBaseDelayMs: 10,
    resubscribeAttempts: 1,
  });
});
test.after(async () => {
  await store.close();
});

test('append, readStream and readAll answer StoreUnavailable', async () => {
  const append = await left(store.append(uniqueStream(), [anEvent()], { expectedRevision: 'no_stream' }));
  assert.is(append._tag, 'StoreUnavailable');
  assert.ok((append as StoreUnavailable).cause instanceof Error);
  assert.is((await left(store.readStream(uniqueStream())))._tag, 'StoreUnavailable');
  assert.is((await left(store.readAll({ after: '0/0' })))._tag, 'StoreUnavailable');
  assert.is((await left(store.append(uniqueStream(), [], { expectedRevision: 'any' })))._tag, 'StoreUnavailable');
});

test('a subscription that cannot connect stops with StoreUnavailable on onError', async () => {
  const errors: (StoreUnavailable | Error)[] = [];
  const subscription = store.subscribe({}, { onEvent: () => undefined, onError: (e) => void errors.push(e) });
  await waitFor('onError', () => errors.length > 0);
  await subscription.stop();
  assert.is(errors.length, 1);
  assert.is((errors[0] as StoreUnavailable)._tag, 'StoreUnavailable');
});

test('bad input is a TypeError before anything is sent', async () => {
  assert.ok(
    await failsWith(() => store.append(uniqueStream(), [{ id: 'x', type: 'T', data: {} }], { expectedRevision: 'any' }), TypeError),
  );
  assert.ok(await failsWith(() => store.readAll({ after: '17' }), TypeError));
});

test.run();
