// `jobtrail show` of a job whose timed-out action still runs (docs/running.md#timed-out-still-running): the CLI,
// spawned as a user runs it, says "timed out, still running" while the action runs in this test's engine, and no
// more once it returned; for an action whose process died, it says the process is gone.
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore } from '../../src/backends/index.js';
import { makeMemoryBroker } from '../../src/broker/index.js';
import { createEngine } from '../../src/engine.js';
import { defineWorker } from '../../src/worker/index.js';
import { runJobtrail } from '../support/cli.js';
import { waitFor } from '../support/waitFor.js';
import { readyTestStore, testJobId, testStoreUrl } from '../support/testStore.js';

const test = suite('jobtrail show: timed out, still running');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-timedout-'));
const storeUrl = testStoreUrl(dir);
test.before(readyTestStore);
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('show prints "timed out, still running" while the action runs on, and not after it returned', async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const worker = defineWorker({
    name: `stubborn-${randomUUID().slice(0, 8)}`,
    timeoutMs: 100,
    maxAttempts: 1,
    action: async () => {
      await gate; // ignores ctx.signal
    },
  });
  const store = await makeStore(storeUrl);
  const broker = makeMemoryBroker();
  const engine = await createEngine({ store, broker, workers: [worker], rememberBroker: false });
  try {
    await engine.start();
    const { jobId } = await engine.enqueue(worker, {}, { jobId: testJobId(`timed-out-${randomUUID().slice(0, 8)}`) });
    await waitFor(async () => (await engine.getJob(jobId))?.actionsRunning !== undefined, 10_000, 'the timed-out attempt');
    const during = await runJobtrail(['show', jobId, '--store', storeUrl]);
    assert.is(during.code, 0, during.stderr);
    assert.match(during.stdout, /status\s+failed \(no retry left\) \(timed out, still running\)/);
    assert.match(during.stdout, `action          timed out, still running: attempt 1 since `);
    assert.match(during.stdout, `on ${engine.processId}`);
    const history = await runJobtrail(['history', jobId, '--store', storeUrl]);
    assert.match(history.stdout, /JobErrored.*\(timed out, still running\)/);

    release();
    await waitFor(async () => (await engine.getJob(jobId))?.actionsRunning === undefined, 10_000, 'the return recorded');
    const after = await runJobtrail(['show', jobId, '--store', storeUrl]);
    assert.is(after.code, 0, after.stderr);
    assert.not.match(after.stdout, 'still running');
    assert.match(after.stdout, /status\s+failed \(no retry left\)\n/);
    const later = await runJobtrail(['history', jobId, '--store', storeUrl]);
    assert.match(later.stdout, /JobActionReturned.*the timed-out action of attempt 1 returned/);
  } finally {
    release();
    await engine.close({ gracePeriodMs: 0 });
    await broker.close();
    await store.close();
  }
});

test('show does not say "still running" for an action whose process is gone', async () => {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  const dead = `${hostname()}:${child.stdout.toString()}:gone`;
  const jobId = testJobId(`timed-out-dead-${randomUUID().slice(0, 8)}`);
  const store = await makeStore(storeUrl);
  try {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    const events = [
      { type: 'JobEnqueued', data: { jobId, workerName: 'w', queue: 'default', payload: {}, maxAttempts: 1, enqueuedAt: at(0) } },
      { type: 'JobStarted', data: { attempt: 1, workerId: dead, backgroundJobId: 'm1', startedAt: at(1) } },
      {
        type: 'JobErrored',
        data: { attempt: 1, erroredAt: at(6), error: { name: 'Timeout', message: 'past 5000 ms' }, durationMs: 5000, actionRunning: true },
      },
    ];
    const r = await store.append(
      `job-${jobId}`,
      events.map((e) => ({ id: randomUUID(), type: e.type, data: e.data, metadata: {} })),
      { expectedRevision: 'no_stream' },
    )();
    assert.is(r._tag, 'Right');
  } finally {
    await store.close();
  }
  const shown = await runJobtrail(['show', jobId, '--store', storeUrl]);
  assert.is(shown.code, 0, shown.stderr);
  assert.not.match(shown.stdout, 'still running');
  assert.match(
    shown.stdout,
    `attempt 1 timed out at ${new Date(Date.UTC(2026, 0, 1, 0, 0, 6)).toISOString()}; its process ${dead} is gone`,
  );
});

test.run();
