// Issue 22, rate limits global across processes (docs/rate-limits.md): three `jobtrail run` processes share a worker
// limited to 10 per second, 200 jobs, one process SIGKILLed part way; in both modes (embedded: one SQLite file and
// each process's in-process broker; RabbitMQ). From every job's history: completions in any 1 s window never exceed
// 11 (the limit plus one), starts never exceed 10, and every job completed exactly once.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rabbitUrl } from '../support/rabbit.js';
import { runRateLimited, type RateRun } from '../support/rateLimitRun.js';
import { maxInWindow } from '../support/rateWindows.js';

const test = suite('rate limits: three jobtrail run processes, one SIGKILLed');
const limit = { max: 10, perMs: 1000 };

const check = (run: RateRun, mode: string) => {
  const worstCompletions = maxInWindow(run.completions, limit.perMs);
  const worstStarts = maxInWindow(
    run.starts.map((s) => s.atMs),
    limit.perMs,
  );
  const processes = new Set(run.starts.map((s) => s.workerId)).size;
  process.stderr.write(
    `rateLimitProcesses ${mode}: ${run.completions.length} completions in ${run.tookMs} ms (${((run.completions.length * 1000) / run.tookMs).toFixed(2)}/s for a limit of 10/s), ` +
      `most in any 1 s: ${worstCompletions} completions, ${worstStarts} starts; ${run.starts.length} starts by ${processes} processes\n`,
  );
  assert.ok(
    run.views.every((v) => v.status === 'completed'),
    'every job completed',
  );
  assert.equal(run.badHistories, [], 'every history replays and has exactly one JobCompleted');
  assert.ok(worstCompletions <= limit.max + 1, `completions in a window: ${worstCompletions}`);
  assert.ok(worstStarts <= limit.max, `starts in a window: ${worstStarts}`);
  assert.ok(processes >= 2, `several processes ran jobs (${processes})`);
  assert.ok(run.killedPid !== undefined);
};

test('embedded: one SQLite file, in-process brokers', async () => {
  const run = await runRateLimited({
    broker: 'memory',
    processes: 3,
    jobs: 200,
    ...limit,
    killAfterCompleted: 60,
    actionMs: 20,
    timeoutMs: 55_000,
  });
  check(run, 'embedded');
});

test('RabbitMQ: one SQLite file, one work queue', async () => {
  const run = await runRateLimited({
    broker: rabbitUrl,
    processes: 3,
    jobs: 200,
    ...limit,
    killAfterCompleted: 60,
    actionMs: 20,
    timeoutMs: 55_000,
  });
  check(run, 'rabbitmq');
});

test.run();
