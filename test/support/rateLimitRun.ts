// Rate limits across processes (docs/rate-limits.md): `jobtrail run` processes (from the sources, through tsx) on one
// SQLite file, with the in-process broker or RabbitMQ, share a limited worker's jobs; one is SIGKILLed part way. Used by
// test/e2e/rateLimitProcesses.test.ts and bench/rateLimit.ts. Reads every job's history afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { createEngine } from '../../src/engine.js';
import { replay, type JobView } from '../../src/job/index.js';
import { makeLimited } from '../fixtures/rateLimitWorkers.js';
import { root } from './cli.js';
import { deleteQueues } from './rabbit.js';
import { startsAndCompletions } from './rateWindows.js';
import { waitFor } from './waitFor.js';

export interface RateRunOptions {
  /** `memory` (embedded) or an AMQP URL. */
  readonly broker: string;
  readonly processes: number;
  readonly jobs: number;
  readonly max: number;
  readonly perMs: number;
  /** SIGKILL one process once this many jobs completed. */
  readonly killAfterCompleted: number;
  readonly actionMs: number;
  readonly timeoutMs: number;
}

export interface RateRun {
  readonly views: readonly JobView[];
  readonly starts: Awaited<ReturnType<typeof startsAndCompletions>>['starts'];
  readonly completions: readonly number[];
  /** From the enqueue to the last completion. */
  readonly tookMs: number;
  readonly killedPid: number | undefined;
  /** Histories that do not replay, or that do not end in exactly one JobCompleted. */
  readonly badHistories: readonly string[];
  /** What the limiter did in each surviving process (its stop log line `rate limits`). */
  readonly gateStats: readonly { grants: number; permits: number; conflicts: number; reads: number; deferred: number }[];
  readonly stderr: readonly string[];
}

export const runRateLimited = async (o: RateRunOptions): Promise<RateRun> => {
  const dir = mkdtempSync(join(tmpdir(), 'jobtrail-ratelimit-run-'));
  const queue = `ratelimit-${randomUUID()}`;
  const store = `sqlite:${join(dir, 'events.db')}`;
  const env = {
    ...process.env,
    JOBTRAIL_STORE: store,
    JOBTRAIL_BROKER: o.broker,
    JOBTRAIL_WORKERS: 'test/fixtures/rateLimitWorkers.ts',
    JOBTRAIL_LOG_LEVEL: 'info',
    JOBTRAIL_TEST_QUEUE: queue,
    JOBTRAIL_TEST_RATE_MAX: String(o.max),
    JOBTRAIL_TEST_RATE_PER_MS: String(o.perMs),
  };
  // This engine is never started: it enqueues (the run processes see the jobs in the store, or get them from RabbitMQ) and reads.
  const limited = makeLimited(queue, { max: o.max, perMs: o.perMs });
  const engine = await createEngine({ store, broker: o.broker, workers: [limited], recover: false, acceptCommands: false });
  const children: { child: ChildProcess; exited: Promise<unknown>; err: () => string }[] = [];
  try {
    for (let i = 0; i < o.processes; i++) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'run'], {
        cwd: root,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr!.on('data', (d) => (err += d));
      children.push({ child, exited: once(child, 'exit'), err: () => err });
    }
    await waitFor(() => children.every((c) => /engine started/.test(c.err())), 60_000, 'every process to start');
    const started = Date.now();
    const ids = (
      await engine.enqueueMany(Array.from({ length: o.jobs }, (_, i) => ({ worker: limited, payload: { i, ms: o.actionMs } })))
    ).map((j) => j.jobId);
    await waitFor(
      async () => (await completedCount(engine, ids)) >= o.killAfterCompleted,
      o.timeoutMs,
      `${o.killAfterCompleted} completions`,
      200,
    );
    const victim = children[0]!;
    const killedPid = victim.child.pid;
    victim.child.kill('SIGKILL');
    await victim.exited;
    const views = await engine.waitForFinal(ids, { timeoutMs: Math.max(1, o.timeoutMs - (Date.now() - started)) });
    const { starts, completions } = await startsAndCompletions(engine, ids);
    const tookMs = Math.max(...completions) - started;
    const badHistories: string[] = [];
    for (const id of ids) {
      const events = (await engine.history(id)).map((e) => e.event);
      const r = replay(events);
      if (E.isLeft(r) || events.filter((e) => e.type === 'JobCompleted').length !== 1) badHistories.push(id);
    }
    const survivors = children.slice(1);
    for (const c of survivors) c.child.kill('SIGTERM');
    await Promise.all(survivors.map((c) => c.exited));
    const gateStats = survivors.flatMap((c) =>
      c
        .err()
        .split('\n')
        .filter((l) => l.includes('"rate limits"'))
        .flatMap((l) => (JSON.parse(l) as { rateLimits: RateRun['gateStats'] }).rateLimits),
    );
    return { views, starts, completions, tookMs, killedPid, badHistories, gateStats, stderr: children.map((c) => c.err()) };
  } finally {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await engine.close();
    if (o.broker.startsWith('amqp')) await deleteQueues([`jobtrail.work.${queue}`, `jobtrail.work.${queue}.dead`]);
    rmSync(dir, { recursive: true, force: true });
  }
};

/** How many of `ids` completed, from their streams. */
const completedCount = async (engine: { getJob(id: string): Promise<JobView | undefined> }, ids: readonly string[]): Promise<number> => {
  let n = 0;
  for (const id of ids) if ((await engine.getJob(id))?.status === 'completed') n++;
  return n;
};
