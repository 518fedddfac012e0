/**
 * `npm run bench:ratelimit`: a rate limit global across processes (docs/rate-limits.md), measured as issue 22 asks:
 * three `jobtrail run` processes (from the sources, through tsx) share a worker limited to 10 per 1000 ms for about
 * 60 s (600 jobs of 20 ms), one SIGKILLed half way; then every job's history is read from the store.
 *
 * Prints, for each mode (embedded: one SQLite file and each process's in-process broker; RabbitMQ: the same file and
 * one work queue): the most completions and starts in any window of 1000 ms, the throughput against the limit, and
 * the limiter's cost per job (appends of grants, conflicts, reads, in the surviving processes). `--mode embedded` or
 * `--mode rabbitmq` runs one; `--jobs N` changes the length.
 */
import { parseArgs } from 'node:util';
import { rabbitUrl } from '../test/support/rabbit.js';
import { runRateLimited } from '../test/support/rateLimitRun.js';
import { maxInWindow } from '../test/support/rateWindows.js';

const { values } = parseArgs({ options: { mode: { type: 'string' }, jobs: { type: 'string' } } });
const jobs = Number(values.jobs ?? 600);
const limit = { max: 10, perMs: 1000 };
const modes = values.mode === undefined ? ['embedded', 'rabbitmq'] : [values.mode];

for (const mode of modes) {
  const run = await runRateLimited({
    broker: mode === 'rabbitmq' ? rabbitUrl : 'memory',
    processes: 3,
    jobs,
    ...limit,
    killAfterCompleted: Math.floor(jobs / 2),
    actionMs: 20,
    timeoutMs: jobs * 200 + 60_000,
  });
  const completed = run.views.filter((v) => v.status === 'completed').length;
  const sum = (k: 'grants' | 'permits' | 'conflicts' | 'reads' | 'deferred') => run.gateStats.reduce((n, s) => n + s[k], 0);
  // The survivors' share of the starts: their gate stats cover those (the killed process's are lost with it).
  const killedWorker = run.starts.find((s) => Number(s.workerId.split(':')[1]) === run.killedPid)?.workerId;
  const survivorStarts = run.starts.filter((s) => s.workerId !== killedWorker).length;
  const perJob = (n: number) => (n / Math.max(1, survivorStarts)).toFixed(3);
  console.log(
    `\n== ${mode}: 3 processes, limit ${limit.max} per ${limit.perMs} ms, ${jobs} jobs of 20 ms, one SIGKILLed after ${Math.floor(jobs / 2)}`,
  );
  console.log(`completed                 ${completed}/${jobs}; histories that do not replay or complete once: ${run.badHistories.length}`);
  console.log(`max completions in 1000ms ${maxInWindow(run.completions, limit.perMs)} (limit ${limit.max}, allowed ${limit.max + 1})`);
  console.log(
    `max starts in 1000ms      ${maxInWindow(
      run.starts.map((s) => s.atMs),
      limit.perMs,
    )}`,
  );
  console.log(
    `throughput                ${((completed * 1000) / run.tookMs).toFixed(2)}/s over ${(run.tookMs / 1000).toFixed(1)} s (${(
      (completed * 1000 * 100) /
      run.tookMs /
      (limit.max * (1000 / limit.perMs))
    ).toFixed(1)} % of the limit)`,
  );
  console.log(
    `starts                    ${run.starts.length} (${run.starts.length - jobs} more than jobs: attempts lost with the killed process)`,
  );
  console.log(
    `limiter cost per start    ${perJob(sum('grants'))} grant appends, ${perJob(sum('conflicts'))} conflicts, ${perJob(sum('reads'))} reads, ` +
      `${perJob(sum('deferred'))} deferrals (survivors: ${sum('permits')} permits in ${sum('grants')} grants)`,
  );
}
