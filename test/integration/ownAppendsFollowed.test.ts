import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { v4 as uuid } from 'uuid';
import { makeEmbeddedEventStore, type EventData, type RecordedEvent } from '../../src/eventStore/index.js';
import { anEvent, right, waitFor } from '../support/eventStoreTesting.js';

// A subscription of the SQLite store gets the store's own commits from memory, not read back (subscriptionSource.ts):
// what it delivers must be exactly what a read gives, in position order, with other connections' events in between.

const dir = mkdtempSync(join(tmpdir(), 'jobtrail-follow-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const strip = (e: RecordedEvent) => ({ ...e, data: e.data instanceof Uint8Array ? [...e.data] : e.data });

test('own commits, another connection’s and the store’s own binary, metadata and `$` events: delivered as read, in order', async () => {
  const path = join(dir, 'a.db');
  const store = makeEmbeddedEventStore({ path, pollIntervalMs: 10 });
  const other = makeEmbeddedEventStore({ path, pollIntervalMs: 10 });
  try {
    const all: RecordedEvent[] = [];
    const prefixed: RecordedEvent[] = [];
    const subAll = store.subscribe({}, { onEvent: (e) => void all.push(e), onError: (e) => assert.unreachable(e.message) });
    const subPrefixed = store.subscribe(
      { streamPrefix: 'job-' },
      { onEvent: (e) => void prefixed.push(e), onError: (e) => assert.unreachable(e.message) },
    );
    const binary: EventData = { id: uuid().toUpperCase(), type: 'Bytes', data: new Uint8Array([0, 1, 2, 255]) };
    const appends: Promise<unknown>[] = [];
    for (let round = 0; round < 20; round++) {
      // Several appends in one turn: one group commit.
      appends.push(
        right(
          store.append(`job-${round}`, [anEvent({ round }, 'A', { origin: 'me', n: round }), anEvent()], { expectedRevision: 'no_stream' }),
        ),
      );
      appends.push(right(store.append(`$system-${round}`, [anEvent()], { expectedRevision: 'no_stream' })));
      appends.push(
        right(
          store.append(`other-${round}`, [round === 7 ? binary : anEvent({ s: '\u{1F600} é \ud800' })], { expectedRevision: 'no_stream' }),
        ),
      );
      // Another connection's commit in between.
      if (round % 3 === 0) await right(other.append(`job-x${round}`, [anEvent({ by: 'other' })], { expectedRevision: 'no_stream' }));
      if (round % 4 === 0) await Promise.all(appends.splice(0));
    }
    await Promise.all(appends);
    const read = await right(store.readAll());
    const readPrefixed = await right(store.readAll({ streamPrefix: 'job-' }));
    assert.ok(read.length >= 60 && readPrefixed.length === 47, `${read.length} / ${readPrefixed.length}`);
    await waitFor('every event delivered', () => all.length >= read.length && prefixed.length >= readPrefixed.length);
    assert.equal(all.map(strip), read.map(strip));
    assert.equal(prefixed.map(strip), readPrefixed.map(strip));
    assert.ok(all.every((e) => !e.streamId.startsWith('$')));
    await subAll.stop();
    await subPrefixed.stop();
  } finally {
    await other.close();
    await store.close();
  }
});

test('a subscription that lags holds at most 10,000 own events and reads the rest back: none lost, none twice', async () => {
  const store = makeEmbeddedEventStore({ path: join(dir, 'b.db'), pollIntervalMs: 10 });
  try {
    const got: RecordedEvent[] = [];
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const sub = store.subscribe(
      {},
      {
        onEvent: async (e) => {
          got.push(e);
          if (got.length === 1) await blocked;
        },
        onError: (e) => assert.unreachable(e.message),
      },
    );
    await right(store.append('first', [anEvent()], { expectedRevision: 'no_stream' }));
    await waitFor('the first event delivered', () => got.length === 1);
    // While the handler waits: three appends of 4,500 events, the third beyond what a subscription holds.
    for (let i = 0; i < 3; i++)
      await right(
        store.append(
          `big-${i}`,
          Array.from({ length: 4500 }, (_, n) => anEvent({ n })),
          { expectedRevision: 'no_stream' },
        ),
      );
    await right(store.append('last', [anEvent()], { expectedRevision: 'no_stream' }));
    release();
    const read = await right(store.readAll());
    await waitFor('every event delivered', () => got.length >= read.length, 30_000);
    assert.is(got.length, read.length);
    assert.equal(got.map(strip), read.map(strip));
    await sub.stop();
  } finally {
    await store.close();
  }
});

test.run();
