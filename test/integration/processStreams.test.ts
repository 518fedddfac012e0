// Process streams (docs/processes.md): heartbeats say who the process is, the streams stay bounded, the retention
// deletes those of processes stopped long ago, and the reader lists them: on the embedded store and on EventStoreDB.
import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore } from '../../src/backends/index.js';
import { silentLogger } from '../../src/log/index.js';
import {
  listProcesses,
  makeProcessRetention,
  processDirectoryStream,
  processStreamKeepLast,
  processStreamName,
  startHeartbeat,
} from '../../src/processes/index.js';
import { readyTestStore, testStoreLabel, testStoreUrl, esdbUrl } from '../support/testStore.js';
import { waitFor } from '../support/waitFor.js';

const test = suite(`process streams (${testStoreLabel})`);
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-process-streams-'));
test.before(readyTestStore);
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('heartbeats: trimmed to a few events, still telling last seen; stopped; deleted after the retention by another process', async () => {
  const store = await makeStore(testStoreUrl(dir));
  let now = Date.now();
  const clock = () => new Date(now);
  const id = `elsewhere-${randomUUID().slice(0, 8)}:4242:beef`;
  try {
    const deps = { store, processId: id, log: silentLogger, now: clock };
    const hb = await startHeartbeat(deps, 20, () => ({ host: 'elsewhere', pid: 4242, version: '9.9.9', queues: ['q1'], running: 1 }));
    // 60 heartbeats at 20 ms.
    await waitFor(
      async () => {
        const r = await store.readStream(processStreamName(id))();
        return E.isRight(r) && r.right.length > 0 && r.right[r.right.length - 1]!.revision >= 60;
      },
      20_000,
      '60 heartbeats',
    );
    const read = await store.readStream(processStreamName(id))();
    assert.ok(E.isRight(read));
    if (esdbUrl === undefined) {
      // Embedded: trimmed now, every 5 beats.
      assert.ok(
        read.right.length <= 2 * processStreamKeepLast,
        `bounded: ${read.right.length} events after ${read.right.at(-1)!.revision + 1} beats`,
      );
    } else {
      // EventStoreDB: $maxCount set once, enforced by the server (the fake keeps the metadata, not the limit).
      const meta = await store.readStream(`$$${processStreamName(id)}`)();
      assert.ok(E.isRight(meta) && meta.right.length === 1, 'one metadata event');
      assert.equal((meta.right[0]!.data as { $maxCount?: number }).$maxCount, processStreamKeepLast);
    }
    let [listed] = (await listProcesses(store, { now: clock })).filter((p) => p.processId === id);
    assert.is(listed?.status, 'running');
    assert.equal([listed?.host, listed?.pid, listed?.version, listed?.queues, listed?.running], ['elsewhere', 4242, '9.9.9', ['q1'], 1]);
    assert.ok(Math.abs(Date.parse(listed!.lastSeenAt!) - now) < 5_000, 'last seen from the trimmed stream');
    await hb.stop();
    [listed] = (await listProcesses(store, { now: clock })).filter((p) => p.processId === id);
    assert.equal([listed?.status, listed?.running], ['stopped', 0]);

    // Another process's retention: nothing before the retention, then the stream goes, once, whoever runs it.
    const retentionA = makeProcessRetention({ ...deps, processId: `a:1:x` }, { retentionMs: 600_000 });
    const retentionB = makeProcessRetention({ ...deps, processId: `b:2:y` }, { retentionMs: 600_000 });
    assert.not.ok((await retentionA.sweep()).includes(id), 'kept within the retention');
    now += 601_000;
    [listed] = (await listProcesses(store, { now: clock })).filter((p) => p.processId === id);
    assert.is(listed, undefined, 'not listed without --all once stopped long ago');
    [listed] = (await listProcesses(store, { now: clock, all: true })).filter((p) => p.processId === id);
    assert.is(listed?.status, 'stopped', '--all lists it');
    const [a, b] = await Promise.all([retentionA.sweep(), retentionB.sweep()]);
    // Embedded: one delete wins, the other sees the stream moved. EventStoreDB: a soft delete at the same revision
    // may succeed twice (the stream's last revision stays), which deletes nothing more.
    const deletes = [...a, ...b].filter((p) => p === id).length;
    assert.ok(esdbUrl === undefined ? deletes === 1 : deletes >= 1, `deleted: ${deletes} reported`);
    const gone = await store.readStream(processStreamName(id))();
    assert.ok(E.isRight(gone) && gone.right.length === 0, 'the stream is deleted');
    assert.is((await listProcesses(store, { now: clock, all: true })).filter((p) => p.processId === id).length, 0);
    assert.not.ok((await retentionA.sweep()).includes(id), 'nothing left to do');
    const directory = await store.readStream(processDirectoryStream)();
    assert.ok(
      E.isRight(directory) && directory.right.some((e) => (e.data as { processId?: string }).processId === id),
      'it was registered',
    );
  } finally {
    await store.close();
  }
});

test('a process that beats again within the retention keeps its stream', async () => {
  const store = await makeStore(testStoreUrl(dir));
  let now = Date.now();
  const clock = () => new Date(now);
  const id = `elsewhere-${randomUUID().slice(0, 8)}:7:cafe`;
  try {
    const deps = { store, processId: id, log: silentLogger, now: clock };
    const hb = await startHeartbeat(deps, 5_000, () => ({}));
    now += 40_000; // silent for 40 s (6 × 5 s allowed): gone, within a 60 s retention
    const [listed] = (await listProcesses(store, { now: clock })).filter((p) => p.processId === id);
    assert.is(listed?.status, 'gone');
    const retention = makeProcessRetention({ ...deps, processId: 'c:3:z' }, { retentionMs: 60_000 });
    assert.not.ok((await retention.sweep()).includes(id), 'gone 40 s ago, within the retention');
    await hb.stop(); // its stop is a sign of life: the retention counts from it
    now += 30_000;
    assert.not.ok((await retention.sweep()).includes(id), 'stopped 30 s ago');
    now += 31_000;
    assert.ok((await retention.sweep()).includes(id), 'stopped 61 s ago');
  } finally {
    await store.close();
  }
});

test.run();
