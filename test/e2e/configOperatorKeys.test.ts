// Issue 22: "queues" (a queue's rate limit) and "retention" in jobtrail.config.json take effect in `jobtrail run`,
// spawned as a user runs it, with nothing on its command line: the queue's starts keep to the limit (from every
// job's history), and the completed jobs are purged once older than the file's age.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine } from '../../src/engine.js';
import { makeQuick } from '../fixtures/configQueueWorkers.js';
import { spawnJobtrail } from '../support/cli.js';
import { maxInWindow, startsAndCompletions } from '../support/rateWindows.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('jobtrail.config.json: queues and retention in jobtrail run');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-config-keys-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a queue rate limit of 2 per second and completed jobs kept 8s, from the file alone', async () => {
  const queue = `config-${randomUUID().slice(0, 8)}`;
  const limit = { max: 2, perMs: 1000 };
  writeFileSync(
    join(dir, 'jobtrail.config.json'),
    JSON.stringify({
      store: 'sqlite:./events.db',
      broker: 'memory',
      workers: fileURLToPath(new URL('../fixtures/configQueueWorkers.ts', import.meta.url)),
      queues: { [queue]: { rateLimit: limit } },
      retention: { completed: '8s', errored: 'forever', cancelled: 'forever' },
    }),
  );
  const quick = makeQuick(queue);
  // Never started: it enqueues (the run process finds the jobs at its start-up recovery) and reads.
  const engine = await createEngine({ store: `sqlite:${join(dir, 'events.db')}`, broker: 'memory', workers: [quick], recover: false });
  const ids = (await engine.enqueueMany(Array.from({ length: 8 }, (_, i) => ({ worker: quick, payload: { i } })))).map((j) => j.jobId);
  const child = spawnJobtrail(['run'], { cwd: dir, env: { JOBTRAIL_TEST_QUEUE: queue, JOBTRAIL_LOG_LEVEL: 'info' } });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = once(child, 'exit');
  try {
    await waitFor(
      async () => (await Promise.all(ids.map((id) => engine.getJob(id)))).every((v) => v?.status === 'completed'),
      30_000,
      'every job completed',
      100,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${err}`);
    });
    // Read before retention deletes them: every start, from the record.
    const { starts } = await startsAndCompletions(engine, ids);
    assert.is(starts.length, 8);
    const worst = maxInWindow(
      starts.map((s) => s.atMs),
      limit.perMs,
    );
    assert.ok(worst <= limit.max, `at most ${limit.max} starts in any ${limit.perMs} ms (saw ${worst})`);
    const span = Math.max(...starts.map((s) => s.atMs)) - Math.min(...starts.map((s) => s.atMs));
    assert.ok(span >= 2500, `8 starts at 2 per second take 3 s or more (${span} ms)`);

    // Retention from the file: purged once 8 s old (its runs come every 2 s ± 20 %).
    await waitFor(
      async () => (await Promise.all(ids.map((id) => engine.getJob(id)))).every((v) => v === undefined),
      30_000,
      'the completed jobs purged',
      200,
    );
    // The purge deletes a stream once the read side folded its JobPurged (up to 10 s later): wait for that too.
    await waitFor(async () => (await engine.history(ids[0]!)).length === 0, 30_000, 'the purged stream deleted', 200);
  } finally {
    child.kill('SIGTERM');
    await exited;
    await engine.close();
  }
});

test.run();
