import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { categoryOf } from '../../src/eventStore/index.js';
import { makeStore } from '../../src/backends/index.js';
import { anEvent, right, uniqueStream } from '../support/eventStoreTesting.js';

const test = suite('makeStore (the store from a URL)');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-factory-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('sqlite::memory: is an embedded store in memory', async () => {
  const store = await makeStore('sqlite::memory:');
  try {
    assert.is(store.kind, 'sqlite');
    const stream = uniqueStream();
    await right(store.append(stream, [anEvent()], { expectedRevision: 'no_stream' }));
    assert.is((await right(store.readStream(stream))).length, 1);
  } finally {
    await store.close();
  }
  assert.not.ok(existsSync(':memory:'));
});

test('sqlite:<path> is an embedded store in that file', async () => {
  const path = join(dir, 'sub', 'events.db');
  const store = await makeStore(`sqlite:${path}`);
  try {
    assert.is(store.kind, 'sqlite');
    await right(store.append(uniqueStream(), [anEvent()], { expectedRevision: 'no_stream' }));
  } finally {
    await store.close();
  }
  assert.ok(existsSync(path));
});

test('esdb:// and esdb+discover:// are EventStoreDB (connected on first use)', async () => {
  for (const url of ['esdb://localhost:2113?tls=false', 'esdb+discover://localhost:2113?tls=false']) {
    const store = await makeStore(url);
    assert.is(store.kind, 'esdb');
    await store.close();
  }
});

test('an unknown scheme is an Error that names the accepted forms', async () => {
  for (const url of ['postgres://localhost/jobs', 'sqlite:', './events.db', '']) {
    try {
      await makeStore(url);
      assert.unreachable(`${url} was accepted`);
    } catch (e) {
      assert.instance(e, Error);
      const message = (e as Error).message;
      for (const form of ['sqlite:<path>', 'sqlite::memory:', 'esdb://', 'esdb+discover://']) {
        assert.ok(message.includes(form), `"${message}" names ${form}`);
      }
    }
  }
});

test('categoryOf: the text before the first dash', () => {
  assert.is(categoryOf('job-42'), 'job');
  assert.is(categoryOf('job-a-b'), 'job');
  assert.is(categoryOf('job'), undefined);
});

test.run();
