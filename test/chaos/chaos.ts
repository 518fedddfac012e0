// The chaos test (npm run test:chaos): several `jobtrail run` processes on a
// private RabbitMQ node that the test starts for itself (test/support/
// rabbitNode.ts: its own name, ports and temporary folder, stopped and deleted
// at the end; never the machine's RabbitMQ) and one SQLite store; some
// thousands of jobs; meanwhile worker processes are killed with SIGKILL (and
// replaced), every AMQP connection is closed from the server side, the RabbitMQ
// app is restarted, and the RabbitMQ node is killed with SIGKILL and started
// again, while retries wait in its delay queues. Then, from the event store
// alone: every job is final, nothing completed or started twice, every stream
// folds through the state machine, and every WorkerLost is explained by a kill
// or a connection drop. One summary line of figures. Where the private node
// cannot be started, the run fails, saying why.
//
// Continuations run under the same faults: chains A→B→C and fan-ins (10
// parents → 1 child → 1 grandchild), the parents spread over the backlog, the
// children on a queue of their own (so a release is followed by its run while
// the faults go on); some with a parent that fails for good (NonRetryableError,
// or attempts exhausted), some fan-ins with `on: 'finished'`. Checked from the
// store: every child that ran was released once, after every parent's final
// event (store positions), and completed once; every child of a parent that
// failed for good is cancelled naming it, and so are its own continuations.
//
// One enqueue's publish fails right after its append (issue 22): that job is
// recorded but never dispatched, and only the periodic sweep of the worker
// processes (every 15 s ± jitter, for a job due over 60 s ago) can dispatch it.
// The worker processes run from the sources (tsx), so that they are the code
// under test, not a build.
//
//   npm run test:chaos [-- --jobs 3000 --chains 40 --fan-ins 12 --workers 3 --kills 4 --timeout 300]
//   CHAOS_SYNCHRONOUS=normal npm run test:chaos   (the store at synchronous=normal; default full)
import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as E from 'fp-ts/lib/Either.js';
import { createEngine } from '../../src/engine.js';
import { endsJob, replay, type JobEvent } from '../../src/job/index.js';
import { spawn } from 'node:child_process';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { makeRabbitBroker, type Broker } from '../../src/broker/index.js';
import { EnqueueRejectedError } from '../../src/conductor/index.js';
import { root } from '../support/cli.js';
import { crashNode, startPrivateNode, stopNode, type RabbitNode } from '../support/rabbitNode.js';
import { makeChaosWorker, type ChaosJob } from './chaosWorkers.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '3000' },
    chains: { type: 'string', default: '40' },
    'fan-ins': { type: 'string', default: '12' },
    workers: { type: 'string', default: '3' },
    kills: { type: 'string', default: '4' },
    timeout: { type: 'string', default: '300' },
    keep: { type: 'boolean', default: false },
  },
});
const jobCount = Number(values.jobs);
const chainCount = Number(values.chains);
const fanInCount = Number(values['fan-ins']);
const workerCount = Number(values.workers);
const killCount = Number(values.kills);
const timeoutMs = Number(values.timeout) * 1000;
const log = (line: string) => process.stderr.write(`chaos: ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Issue 24: CHAOS_SYNCHRONOUS=normal runs every process on the store at synchronous=normal (default: full).
const synchronous = process.env['CHAOS_SYNCHRONOUS']?.trim().toLowerCase() || 'full';
if (synchronous !== 'full' && synchronous !== 'normal') {
  log(`FAIL CHAOS_SYNCHRONOUS must be full or normal, got ${JSON.stringify(process.env['CHAOS_SYNCHRONOUS'])}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

let node: RabbitNode;
const nodeStarting = Date.now();
try {
  node = await startPrivateNode();
} catch (error) {
  log(`FAIL could not start the private RabbitMQ node the chaos test runs on: ${(error as Error).message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
log(`started the private RabbitMQ node ${node.name} (${node.url}) in ${((Date.now() - nodeStarting) / 1000).toFixed(1)} s`);
const rabbitmqctl = (...args: string[]) => node.ctl(...args);

const queue = `chaos-${randomUUID()}`;
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-chaos-'));
const store = `sqlite:${join(dir, 'events.db')}?synchronous=${synchronous}`;
log(`store at synchronous=${synchronous}`);
const began = Date.now();

interface Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<unknown>;
  killedAt?: number;
}
const procs: Proc[] = [];
const startWorker = (): Proc => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/bin.ts', 'run', '--store', store, '--broker', node.url, '--workers', 'test/chaos/chaosWorkers.ts'],
    { cwd: root, env: { ...process.env, JOBTRAIL_TEST_QUEUE: queue, JOBTRAIL_LOG_LEVEL: 'error' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr!.on('data', () => undefined);
  child.stdout!.on('data', () => undefined);
  const p: Proc = { child, pid: child.pid!, exited: once(child, 'exit') };
  procs.push(p);
  return p;
};

// The test's own broker fails the publishes it is told to, as a broker that goes away right after an append.
const rabbit = await makeRabbitBroker({ url: node.url, connectionName: `jobtrail-chaos-${randomUUID()}`, onWarning: () => undefined });
let failPublishes = 0;
const flakyBroker: Broker = Object.assign(Object.create(rabbit) as Broker, {
  publish: (q: string, message: Parameters<Broker['publish']>[1]) => {
    if (failPublishes === 0) return rabbit.publish(q, message);
    failPublishes--;
    return TE.left({ _tag: 'BrokerUnavailable' as const, message: 'connection lost (injected by the chaos test)' });
  },
});
const engine = await createEngine({
  store,
  broker: flakyBroker,
  workers: [makeChaosWorker(queue), makeChaosWorker(`${queue}-next`, 'chaos-next')],
  acceptCommands: false,
});
const drops: { from: number; to: number }[] = [];
let nodeKills = 0;
let failures = 0;
const fail = (what: string) => {
  failures++;
  log(`FAIL ${what}`);
};

try {
  // A deterministic mix: durations 0–600 ms, one job in 25 slow (2–4 s) so kills catch work in flight,
  // 10% failing their first attempt, 3% failing for good.
  interface Spec {
    readonly jobId: string;
    readonly worker: 'chaos' | 'chaos-next';
    readonly payload: ChaosJob;
    readonly after?: readonly string[];
    readonly on?: 'completed' | 'finished';
  }
  const job = (
    jobId: string,
    payload: Partial<ChaosJob> & { ms: number },
    worker: Spec['worker'] = 'chaos',
    more: Partial<Spec> = {},
  ): Spec => ({
    jobId,
    worker,
    payload: { failFirst: false, failAlways: false, ...payload },
    ...more,
  });
  const plain: Spec[] = [];
  for (let i = 0; i < jobCount; i++) {
    plain.push(
      job(`chaos-${i}`, { ms: i % 25 === 0 ? 2000 + (i % 10) * 200 : (i * 37) % 600, failFirst: i % 10 === 3, failAlways: i % 33 === 7 }),
    );
  }
  // Continuations (issue 21). Parents go on the main queue, spread over the backlog so they end all along the run;
  // children go on their own queue (chaos-next), so each runs as soon as it is released, while the faults go on.
  const parentsAt = new Map<number, Spec[]>();
  const parentsAfter = (index: number, ...specs: Spec[]) => parentsAt.set(index, [...(parentsAt.get(index) ?? []), ...specs]);
  const children: Spec[] = [];
  for (let c = 0; c < chainCount; c++) {
    // A fails for good (c ≡ 3: NonRetryableError; c ≡ 7: attempts exhausted), or B does (c ≡ 5): the rest of the chain is cancelled.
    const a = job(`chain-${c}-a`, {
      ms: c % 8 === 0 ? 2500 : (c * 53) % 600,
      failFirst: c % 5 === 1,
      fatal: c % 10 === 3,
      failAlways: c % 10 === 7,
    });
    parentsAfter(Math.floor(((c + 0.5) * jobCount) / Math.max(chainCount, 1)), a);
    const b = job(`chain-${c}-b`, { ms: (c * 29) % 400, failFirst: c % 10 === 9, fatal: c % 10 === 5 }, 'chaos-next', { after: [a.jobId] });
    children.push(b, job(`chain-${c}-c`, { ms: (c * 17) % 300 }, 'chaos-next', { after: [b.jobId] }));
  }
  for (let f = 0; f < fanInCount; f++) {
    // 10 parents next to each other in the backlog, so they end close together and releasers race on the child.
    // f ≡ 1: one parent throws NonRetryableError; f ≡ 2: one exhausts its attempts (both cancel the child and grandchild);
    // f ≡ 3: one throws NonRetryableError, but the child runs `on: 'finished'`.
    const parents = Array.from({ length: 10 }, (_, k) =>
      job(`fan-${f}-p${k}`, {
        ms: k === 0 && f % 3 === 0 ? 3000 : (f * 7 + k * 61) % 600,
        failFirst: k === 2,
        fatal: (f % 4 === 1 || f % 4 === 3) && k === 4,
        failAlways: f % 4 === 2 && k === 7,
      }),
    );
    parentsAfter(Math.floor(((f + 0.25) * jobCount) / Math.max(fanInCount, 1)), ...parents);
    const child = job(`fan-${f}-child`, { ms: (f * 41) % 500, failFirst: f % 5 === 4 }, 'chaos-next', {
      after: parents.map((p) => p.jobId),
      ...(f % 4 === 3 ? { on: 'finished' as const } : {}),
    });
    children.push(child, job(`fan-${f}-next`, { ms: 100 }, 'chaos-next', { after: [child.jobId] }));
  }
  const specs: Spec[] = [];
  plain.forEach((s, i) => specs.push(s, ...(parentsAt.get(i) ?? [])));
  specs.push(...children); // awaiting: on no queue until released, so their place in the order does not matter
  // What each job must end as: a child on `completed` is cancelled when a parent does not complete.
  const expected = new Map<string, 'completed' | 'errored' | 'cancelled'>();
  for (const s of specs) {
    const blocked = (s.on ?? 'completed') === 'completed' && (s.after ?? []).some((p) => expected.get(p) !== 'completed');
    expected.set(s.jobId, blocked ? 'cancelled' : s.payload.fatal || s.payload.failAlways ? 'errored' : 'completed');
  }
  const specOf = new Map(specs.map((s) => [s.jobId, s]));
  const ids: string[] = [];
  // A plain job in the middle of the backlog: recorded, its dispatch never published.
  const strandedId = plain[Math.floor(jobCount / 2)]!.jobId;
  let stranded = 0;
  for (const s of specs) {
    if (s.jobId === strandedId) failPublishes = 1;
    try {
      await engine.enqueue(s.worker, s.payload, { jobId: s.jobId, ...(s.after ? { after: [...s.after], on: s.on ?? 'completed' } : {}) });
    } catch (error) {
      if (!(error instanceof EnqueueRejectedError && error.reason === 'BrokerUnavailable' && s.jobId === strandedId)) throw error;
      stranded++;
    }
    ids.push(s.jobId);
  }
  if (stranded !== 1) fail(`the publish after the append of ${strandedId} was to fail once; it failed ${stranded} times`);
  // The workers start once everything is enqueued, so the faults land on a full backlog.
  for (let i = 0; i < workerCount; i++) startWorker();
  log(`enqueued ${ids.length} jobs (${children.length} continuations) on ${queue}; started ${workerCount} worker processes`);

  const finished = engine.waitForFinal(ids, { timeoutMs });
  let done = false;
  void finished.then(
    () => (done = true),
    () => (done = true),
  );
  const killOne = async () => {
    const alive = procs.filter((p) => p.killedAt === undefined && p.child.exitCode === null);
    const victim = alive[Math.floor(Math.random() * alive.length)];
    if (!victim) return;
    victim.killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    startWorker();
    log(`killed ${victim.pid}, started a replacement`);
  };
  // The schedule of faults, interleaved: kills, a server-side close of every connection, an app restart.
  const plan: (() => Promise<void>)[] = [];
  for (let k = 0; k < killCount; k++) {
    plan.push(killOne);
    if (k === 0)
      plan.push(async () => {
        const from = Date.now();
        await rabbitmqctl('close_all_connections', 'jobtrail chaos test');
        drops.push({ from, to: Date.now() + 1000 });
        log('closed every AMQP connection from the server side');
      });
    if (k === 1)
      plan.push(async () => {
        const from = Date.now();
        await rabbitmqctl('stop_app');
        await sleep(2000);
        await rabbitmqctl('start_app');
        await rabbitmqctl('await_startup');
        drops.push({ from, to: Date.now() + 1000 });
        log('restarted the RabbitMQ app');
      });
    if (k === 2)
      plan.push(async () => {
        const from = Date.now();
        await crashNode(node);
        nodeKills++;
        drops.push({ from, to: Date.now() + 1000 });
        log('killed the RabbitMQ node with SIGKILL and started it again');
      });
  }
  for (const step of plan) {
    if (done) break;
    await sleep(1500);
    if (done) break;
    await step();
  }
  const executedFaults = plan.length;
  const views = await finished;
  const strandedView = views.find((v) => v.jobId === strandedId);
  if (strandedView?.status !== 'completed') fail(`${strandedId}, never dispatched at enqueue, ended ${strandedView?.status}`);
  const sweptAfterS = ((Date.parse(strandedView?.completedAt ?? '') - began) / 1000).toFixed(1);
  // A parent that the faults made fail for good (its attempts all lost) counts as lost once, above: its continuations are
  // judged by how their parents actually ended.
  const statusOf = new Map<string, string>(views.map((v) => [v.jobId, v.status]));
  for (const s of children)
    if ((s.on ?? 'completed') === 'completed' && s.after!.some((p) => statusOf.get(p) !== 'completed')) expected.set(s.jobId, 'cancelled');

  // ---- checks, from the event store alone ----
  const killedPids = new Set(procs.filter((p) => p.killedAt !== undefined).map((p) => p.pid));
  let lost = 0;
  let duplicated = 0;
  let invalid = 0;
  let workerLost = 0;
  let unexplained = 0;
  const histories = new Map<string, Awaited<ReturnType<typeof engine.history>>>();
  for (const view of views) {
    const id = view.jobId;
    const spec = specOf.get(id)!;
    const want = expected.get(id);
    if (
      want === 'errored'
        ? !(
            view.status === 'errored' &&
            view.retryAt === undefined &&
            // Interrupted attempts (WorkerLost, Interrupted) do not count against maxAttempts where the job core counts them apart.
            (!spec.payload.failAlways || view.attempts - ((view as { interruptions?: number }).interruptions ?? 0) === 3)
          )
        : view.status !== want
    ) {
      lost++;
      fail(`${id} ended ${view.status} after ${view.attempts} attempts (expected ${want})`);
    }
    const history = await engine.history(id);
    histories.set(id, history);
    const events: JobEvent[] = history.map((h) => h.event);
    const checked = replay(events);
    if (E.isLeft(checked)) {
      invalid++;
      fail(`${id}: ${checked.left.message}`);
    }
    const completions = events.filter((e) => e.type === 'JobCompleted').length;
    const starts = events.flatMap((e) => (e.type === 'JobStarted' ? [e.data.attempt] : []));
    if (completions > 1 || new Set(starts).size !== starts.length) {
      duplicated++;
      fail(`${id}: ${completions} completions, attempts started ${starts.join(',')}`);
    }
    for (const h of history) {
      const e = h.event;
      if (e.type !== 'JobErrored' || e.data.error.name !== 'WorkerLost') continue;
      workerLost++;
      const started = events.find(
        (x): x is Extract<JobEvent, { type: 'JobStarted' }> => x.type === 'JobStarted' && x.data.attempt === e.data.attempt,
      );
      const pid = Number(started?.data.workerId.split(':')[1]);
      const startedAt = Date.parse(started?.data.startedAt ?? '');
      const erroredAt = Date.parse(e.data.erroredAt);
      const byKill = killedPids.has(pid);
      // A drop loses the deliveries of attempts that started before the connection came back and ended after it went.
      const byDrop = drops.some((d) => startedAt <= d.to && erroredAt >= d.from);
      if (!byKill && !byDrop) {
        unexplained++;
        fail(
          `${id}: attempt ${e.data.attempt} recorded WorkerLost, but ${started?.data.workerId} was not killed and no connection dropped while it ran`,
        );
      }
    }
  }
  // Continuations: released once, after every parent's final event (store positions: one order for the whole store), run
  // once; or cancelled with a reason naming a parent that did not complete.
  let releasedOnce = 0;
  let cancelledByParent = 0;
  let orderViolations = 0;
  let continuationErrors = 0;
  const misbehaved = (what: string) => {
    continuationErrors++;
    fail(what);
  };
  const pos = (h: { readonly position: string }) => Number(h.position);
  for (const child of children) {
    const id = child.jobId;
    const history = histories.get(id)!;
    const view = views.find((v) => v.jobId === id)!;
    const releases = history.filter((h) => h.event.type === 'JobReleased');
    const starts = history.filter((h) => h.event.type === 'JobStarted');
    const completions = history.filter((h) => h.event.type === 'JobCompleted').length;
    if (expected.get(id) === 'cancelled') {
      const failed = child.after!.filter((p) => statusOf.get(p) !== 'completed');
      const reason = view.cancelReason ?? '';
      if (view.status !== 'cancelled' || releases.length > 0 || starts.length > 0)
        misbehaved(`${id}: expected cancelled without running, is ${view.status} (${releases.length} releases, ${starts.length} starts)`);
      else if (!failed.some((p) => reason.includes(`parent "${p}"`)))
        misbehaved(`${id}: cancelled with a reason naming none of ${failed.join(', ')}: ${reason}`);
      else cancelledByParent++;
      continue;
    }
    if (releases.length !== 1 || starts.length === 0 || completions !== (expected.get(id) === 'completed' ? 1 : 0)) {
      misbehaved(`${id}: ${releases.length} releases, ${starts.length} starts, ${completions} completions, ended ${view.status}`);
      continue;
    }
    releasedOnce++;
    const released = pos(releases[0]!);
    const firstStart = Math.min(...starts.map(pos));
    for (const parentId of child.after!) {
      const ends = histories.get(parentId)!.filter((h) => endsJob(h.event));
      const parentEnd = ends.length > 0 ? pos(ends[ends.length - 1]!) : Infinity;
      if (!(parentEnd < released && released < firstStart)) {
        orderViolations++;
        fail(
          `${id}: parent ${parentId} ended at position ${parentEnd}, the child was released at ${released} and started at ${firstStart}`,
        );
      }
    }
  }
  const expectedCancelled = children.filter((c) => expected.get(c.jobId) === 'cancelled').length;
  if (releasedOnce + cancelledByParent !== children.length || cancelledByParent !== expectedCancelled)
    fail(
      `continuations: ${releasedOnce} released once and ${cancelledByParent} cancelled, of ${children.length} (${expectedCancelled} to cancel)`,
    );
  // Every attempt a killed process left running is accounted for: none is still in progress.
  const stuck = views.filter((v) => v.status === 'in_progress').length;
  if (stuck > 0) fail(`${stuck} jobs still in progress`);
  const wallS = ((Date.now() - began) / 1000).toFixed(1);
  console.log(
    `chaos: jobs=${views.length} kills=${killedPids.size} connection_drops=${drops.length} rabbitmq_node_kills=${nodeKills} faults=${executedFaults} lost=${lost} duplicated=${duplicated} invalid_histories=${invalid} worker_lost=${workerLost} unexplained_worker_lost=${unexplained} continuations=${children.length} released_once=${releasedOnce} cancelled_by_parent=${cancelledByParent} order_violations=${orderViolations} continuation_errors=${continuationErrors} stranded_publish=${stranded} stranded_completed_at=${sweptAfterS}s wall=${wallS}s`,
  );
  if (killedPids.size < Math.min(2, killCount) || drops.length < 2)
    fail(`the run ended before the faults were injected (kills ${killedPids.size}, drops ${drops.length}); use more --jobs`);
  if (killCount > 2 && nodeKills === 0) fail('the run ended before the RabbitMQ node was killed; use more --jobs');
} catch (error) {
  fail(`the chaos run failed: ${(error as Error).stack ?? String(error)}`);
} finally {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  await Promise.all(procs.map((p) => Promise.race([p.exited, sleep(30_000)])));
  try {
    await engine.close({ gracePeriodMs: 0 });
    await rabbit.close();
  } finally {
    // The node goes with its queues and its folder.
    await stopNode(node).catch((error: Error) => fail(`stopping the private RabbitMQ node: ${error.message}`));
  }
  if (values.keep) log(`kept the store: ${store}`);
  else rmSync(dir, { recursive: true, force: true });
}
console.log(failures === 0 ? '1 passed, 0 failed' : '0 passed, 1 failed');
process.exit(failures === 0 ? 0 : 1);
