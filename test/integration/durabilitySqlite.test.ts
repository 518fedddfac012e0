// Issue 24: the durability asked for is the one SQLite has in force on the store's connection: PRAGMA synchronous
// reads 2 for full and 1 for normal, whether it came from the store URL or the engine's option; a bad or
// contradictory setting is refused before any file is created.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore } from '../../src/backends/index.js';
import { createEngine } from '../../src/engine.js';
import { ErrorCodes, isJobtrailError } from '../../src/errors/index.js';
import { makeEmbeddedEventStore } from '../../src/eventStore/index.js';
import { defineWorker } from '../../src/worker/index.js';

const test = suite('durability of the embedded store (PRAGMA synchronous)');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-durability-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const file = () => join(dir, `e${++n}.db`);
const rejected = async (p: Promise<unknown>): Promise<Error> => {
  try {
    await p;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected it to reject');
};

test('the event store sets it on its connection: PRAGMA synchronous reads 2 for full (the default) and 1 for normal', async () => {
  for (const [asked, level] of [
    [undefined, 2],
    ['full', 2],
    ['normal', 1],
  ] as const) {
    const store = makeEmbeddedEventStore({ path: file(), ...(asked !== undefined ? { synchronous: asked } : {}) });
    try {
      assert.is(store.database.pragma('synchronous', { simple: true }), level, String(asked));
      assert.is(store.database.pragma('journal_mode', { simple: true }), 'wal');
      assert.is(store.synchronous, asked ?? 'full');
    } finally {
      await store.close();
    }
  }
  const e = (() => {
    try {
      makeEmbeddedEventStore({ path: file(), synchronous: 'off' as 'full' });
    } catch (error) {
      return error as Error;
    }
    return undefined;
  })();
  assert.match(e?.message ?? '', 'synchronous must be "full" or "normal"; got "off"');
});

test('an engine from a store URL has what the URL or its option says in force, and runs jobs at normal', async () => {
  const worker = defineWorker<{ n: number }>({ name: 'durable-noop', action: async ({ n: x }) => x });
  for (const [options, expected] of [
    [{ store: `sqlite:${file()}` }, 'full'],
    [{ store: `sqlite:${file()}?synchronous=normal` }, 'normal'],
    [{ store: `sqlite:${file()}?synchronous=FULL` }, 'full'],
    [{ store: `sqlite:${file()}`, synchronous: 'normal' as const }, 'normal'],
    [{ store: `sqlite:${file()}?synchronous=normal`, synchronous: 'normal' as const }, 'normal'],
  ] as const) {
    const engine = await createEngine({ ...options, workers: [worker] });
    try {
      assert.is(engine.adapters.synchronous, expected, JSON.stringify(options));
      await engine.start();
      const { jobId } = await engine.enqueue('durable-noop', { n: 1 });
      const [view] = await engine.waitForFinal([jobId], { timeoutMs: 10_000 });
      assert.is(view?.status, 'completed');
    } finally {
      await engine.close();
    }
  }
  // What another connection reads from the file after the engine wrote at normal: the commits are there.
  const path = file();
  const engine = await createEngine({ store: `sqlite:${path}?synchronous=normal`, workers: [worker] });
  await engine.start();
  const { jobId } = await engine.enqueue('durable-noop', { n: 2 });
  await engine.waitForFinal([jobId], { timeoutMs: 10_000 });
  await engine.close();
  const db = new Database(path, { readonly: true });
  try {
    const row = db
      .prepare("SELECT COUNT(*) AS c FROM es_events e JOIN es_streams s USING (stream_key) WHERE s.name LIKE 'job-%'")
      .get() as {
      c: number;
    };
    assert.ok(row.c >= 3, `the job's events are in the file (${row.c})`);
  } finally {
    db.close();
  }
});

test('a bad value, a URL and option that differ, EventStoreDB or a store object with it: refused, no file created', async () => {
  const cases: [Parameters<typeof createEngine>[0], string][] = [
    [{ store: `sqlite:${join(dir, 'bad1.db')}?synchronous=off` }, 'synchronous must be "full"'],
    [{ store: `sqlite:${join(dir, 'bad2.db')}?durability=full` }, 'unknown parameter "durability"'],
    [
      { store: `sqlite:${join(dir, 'bad3.db')}?synchronous=full`, synchronous: 'normal' },
      'says synchronous=full but the synchronous option says "normal"',
    ],
    [{ store: `sqlite:${join(dir, 'bad4.db')}`, synchronous: 'extra' as 'full' }, 'the synchronous option must be "full"'],
    [{ store: 'esdb://127.0.0.1:1?tls=false', synchronous: 'normal' }, "is the embedded SQLite store's durability"],
  ];
  for (const [options, message] of cases) {
    const e = await rejected(createEngine(options));
    assert.ok(isJobtrailError(e, ErrorCodes.InvalidConfig), `${JSON.stringify(options)}: ${e.message}`);
    assert.match(e.message, message);
  }
  for (const name of ['bad1.db', 'bad2.db', 'bad3.db', 'bad4.db']) assert.not.ok(existsSync(join(dir, name)), name);
  const store = await makeStore('sqlite::memory:');
  try {
    const e = await rejected(createEngine({ store, synchronous: 'normal' }));
    assert.match(e.message, 'give it to makeStore(url, { synchronous })');
  } finally {
    await store.close();
  }
});

test.run();
