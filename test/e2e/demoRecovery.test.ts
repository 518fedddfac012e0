import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import { createEngine } from '../../src/engine.js';
import { isFinal, replay } from '../../src/job/index.js';
import { runJobtrail, spawnJobtrail } from '../support/cli.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('the demo, killed with SIGKILL at a random moment and started again');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-demo-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('the second run finishes every job of both runs; none completes twice', async () => {
  const store = `sqlite:${join(dir, 'events.db')}`;
  const args = ['demo', '--store', store, '--emails', '150', '--imports', '2'];
  const first = spawnJobtrail(args, { cwd: dir });
  let out = '';
  first.stdout!.on('data', (d) => (out += d));
  const exited = once(first, 'exit');
  await waitFor(() => out.includes('enqueued') || first.exitCode !== null, 60_000, 'the demo to enqueue its jobs');
  const delayMs = Math.floor(Math.random() * 1000);
  await new Promise((r) => setTimeout(r, delayMs));
  first.kill('SIGKILL');
  await exited;

  const second = await runJobtrail(args, { cwd: dir, timeoutMs: 120_000 });
  assert.is(second.code, 0, `killed after ${delayMs} ms; second run: ${second.stdout}\n${second.stderr}`);
  assert.match(second.stdout, /all \d+ jobs are final/);

  const engine = await createEngine({ store });
  try {
    const jobs = await engine.listJobs({ limit: 100_000 });
    assert.is(jobs.length, 2 * 152, "both runs' jobs are in the store");
    for (const job of jobs) {
      assert.ok(isFinal(job), `${job.jobId} is final (killed after ${delayMs} ms): ${job.status}`);
      const events = (await engine.history(job.jobId)).map((e) => e.event);
      const r = replay(events);
      assert.ok(E.isRight(r), E.isLeft(r) ? `${job.jobId}: ${r.left.message}` : '');
      assert.ok(events.filter((e) => e.type === 'JobCompleted').length <= 1, `${job.jobId} completed at most once`);
    }
  } finally {
    await engine.close();
  }
});

test.run();
