// Issue 22, embedded mode: two `jobtrail run` processes (from the sources, through tsx) on one SQLite file, with the
// in-process broker; the one running an attempt is SIGKILLed. The survivor's sweep finds the attempt of a gone
// process, records WorkerLost and retries it: the job completes within seconds, with no restart.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine } from '../../src/engine.js';
import { replay } from '../../src/job/index.js';
import { sleeper } from '../fixtures/workers.js';
import { root } from '../support/cli.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('the sweep: jobtrail run processes on one SQLite file, one SIGKILLed mid-attempt');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-sweep-processes-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const spawnRun = (env: Record<string, string>): ChildProcess =>
  spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'run'], {
    cwd: root,
    env: { ...process.env, JOBTRAIL_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

test('the survivor records WorkerLost for the killed process’s attempt and the job completes, with no restart', async () => {
  const url = `sqlite:${join(dir, 'events.db')}`;
  const env = { JOBTRAIL_STORE: url, JOBTRAIL_BROKER: 'memory', JOBTRAIL_WORKERS: 'test/fixtures/workers.ts' };
  // The test's engine is never started: it enqueues (the run processes see the job in the store) and reads.
  const engine = await createEngine({ store: url, broker: 'memory', workers: [sleeper], recover: false });
  const children: { child: ChildProcess; exited: Promise<unknown>; err: () => string }[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const child = spawnRun(env);
      let err = '';
      child.stderr!.on('data', (d) => (err += d));
      children.push({ child, exited: once(child, 'exit'), err: () => err });
    }
    await waitFor(() => children.every((c) => /engine started/.test(c.err())), 60_000, 'both processes to start');

    // Attempt 1 runs 60 s; attempt 2 at once.
    const jobId = `swept-${randomUUID()}`;
    await engine.enqueue(sleeper, { firstAttemptMs: 60_000, value: 'done' }, { jobId });
    await waitFor(async () => (await engine.getJob(jobId))?.status === 'in_progress', 20_000, 'the attempt to start', 50);
    const started = (await engine.getJob(jobId))!;
    const pid = Number(started.workerId!.split(':')[1]);
    const victim = children.find((c) => c.child.pid === pid);
    assert.ok(victim, `the attempt runs in one of the two processes (${started.workerId})`);
    const survivor = children.find((c) => c !== victim)!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    const killedAt = Date.now();

    // The survivor's sweep (every 15 s ± 20 %; its first 7.5–22.5 s after its start) finds it.
    const [view] = await engine.waitForFinal([jobId], { timeoutMs: 40_000 });
    const tookMs = Date.now() - killedAt;
    assert.is(view!.status, 'completed', survivor.err());
    assert.is(view!.attempts, 2);
    assert.equal(view!.result, 'done');
    const events = (await engine.history(jobId)).map((e) => e.event);
    assert.ok(E.isRight(replay(events)));
    const lost = events.filter((e) => e.type === 'JobErrored' && e.data.error.name === 'WorkerLost');
    assert.is(lost.length, 1, 'recorded WorkerLost once');
    assert.match(lost[0]!.type === 'JobErrored' ? lost[0]!.data.error.message : '', /found by the sweep/);
    assert.is(survivor.child.exitCode, null, 'the survivor still runs (no restart)');
    process.stderr.write(`sweepProcesses: completed ${tookMs} ms after the kill\n`);
  } finally {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGTERM');
    await Promise.all(children.map((c) => c.exited));
    await engine.close();
  }
});

test.run();
