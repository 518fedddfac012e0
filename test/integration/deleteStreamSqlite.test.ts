// Deleting a stream in the SQLite store (docs/retention.md): its rows go, its name may be used again from revision
// 0, positions are never reused (a subscriber past them would miss events), and the freed pages are reused.
import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeEmbeddedEventStore } from '../../src/eventStore/index.js';

const test = suite('the SQLite store deletes streams');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-delete-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const event = (data: unknown = { big: 'x'.repeat(2000) }) => ({ id: randomUUID(), type: 'Thing', data });

test('the rows go, the name starts over at revision 0, a missing stream is a conflict, the head position stays', async () => {
  const store = makeEmbeddedEventStore({ path: ':memory:' });
  try {
    const a = await store.append('job-a', [event(), event()], { expectedRevision: 'no_stream' })();
    assert.ok(E.isRight(a));
    const wrong = await store.deleteStream('job-a', { expectedRevision: 0 })();
    assert.ok(E.isLeft(wrong) && wrong.left._tag === 'WrongExpectedRevision', 'checked at the expected revision');
    const head = await store.headPosition()();
    assert.ok(E.isRight(await store.deleteStream('job-a', { expectedRevision: 1 })()));
    const read = await store.readStream('job-a')();
    assert.equal(E.isRight(read) && read.right, []);
    assert.equal(await store.headPosition()(), head, 'the head position is kept (a marker in $deleted)');
    const again = await store.deleteStream('job-a', { expectedRevision: 'any' })();
    assert.ok(E.isLeft(again) && again.left._tag === 'WrongExpectedRevision' && again.left.actual === 'no_stream');
    const all = await store.readAll()();
    assert.equal(E.isRight(all) && all.right, [], 'gone from $all too; the marker is a system stream');

    const b = await store.append('job-a', [event()], { expectedRevision: 'no_stream' })();
    assert.ok(E.isRight(b) && b.right.nextExpectedRevision === 0, 'the name is used again from revision 0');
    assert.ok(E.isRight(b) && E.isRight(head) && Number(b.right.position) > Number(head.right), 'a new position, above every old one');
  } finally {
    await store.close();
  }
});

test('a file whose streams are deleted reuses the freed pages: it stops growing', async () => {
  const store = makeEmbeddedEventStore({ path: join(dir, 'grow.db') });
  const pages = () => store.database.pragma('page_count', { simple: true }) as number;
  try {
    const round = async (r: number) => {
      for (let i = 0; i < 200; i++)
        assert.ok(E.isRight(await store.append(`job-${r}-${i}`, [event(), event(), event()], { expectedRevision: 'no_stream' })()));
      for (let i = 0; i < 200; i++) assert.ok(E.isRight(await store.deleteStream(`job-${r}-${i}`, { expectedRevision: 2 })()));
    };
    await round(0);
    store.database.pragma('wal_checkpoint(TRUNCATE)');
    const after1 = pages();
    for (let r = 1; r <= 5; r++) await round(r);
    store.database.pragma('wal_checkpoint(TRUNCATE)');
    const after6 = pages();
    assert.ok(after6 <= after1 * 1.1, `pages after 6 rounds (${after6}) stay near those after 1 (${after1})`);
  } finally {
    await store.close();
  }
});

test.run();
