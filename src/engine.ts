import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as E from 'fp-ts/lib/Either.js';
import { holdReadSide, makeBackend } from './backends/index.js';
import type { Consumer } from './broker/index.js';
import {
  cancelJob,
  enqueueJob,
  enqueueJobs,
  EnqueueManyError,
  isProcessGone,
  consumeQueues,
  listJobs,
  makeRunningAttempts,
  holdProcessId,
  makeProcessId,
  makeWorkHandler,
  recoverJobs,
  startUpJobIds,
  retryJob,
  waitForFinal,
  watchOtherWriters,
  makeDispatchRetries,
  sweepContinuations,
  watchContinuations,
  type ConductorDeps,
  type DispatchRetries,
  makeSweeper,
  startHeartbeat,
  type Heartbeat,
  type Sweeper,
  type Enqueued,
  type EnqueueItem,
  type EnqueueOptions,
  type RecoveryReport,
  type WorkerRef,
  makeBrokerGuard,
  makeRateLimits,
  cancelMany,
  purgeJobs,
  retentionPolicy,
  retryMany,
  startRetention,
  type Retention,
  validateQueueOptions,
} from './conductor/index.js';
import { makeCancelWatch, watchCancelRequests } from './conductor/index.js';
import { makeProcessGone } from './conductor/index.js';
import { isJobView, type JobRef, type JobView } from './job/index.js';
import { followJob, makeJobStore, storeRead, type JobStore } from './jobStore/index.js';
import { redactUrl, silentLogger } from './log/index.js';
import type { Engine, EngineOptions } from './engineApi.js';
import { engineVersion } from './version.js';
import {
  getSchedule,
  listSchedules,
  makeScheduleStore,
  pauseSchedule,
  removeSchedule,
  resumeSchedule,
  startScheduler,
  triggerSchedule,
  upsertDeclaredSchedules,
  upsertSchedule,
  type ScheduleDeps,
  type ScheduleOptions,
  type Scheduler,
} from './schedules/index.js';
import { makeWorkerRegistry, type WorkerRegistry } from './worker/index.js';
import { makeQueueStore, makeQueues, startQueueConsumers, type QueueConsumers } from './queues/index.js';
import { attachMetrics, checkMetricsOptions, jobCountsOf, projectionLag } from './metrics/index.js';
import { describeProcess, listProcesses, noteRecovered } from './processes/index.js';

export { engineVersion };
export { defaultBrokerUrl, defaultStoreUrl } from './backends/index.js';
export type { Engine, EngineOptions, Projections } from './engineApi.js';
export type { ListJobsFilter } from './conductor/index.js';

/** The composition root: a backend from URLs or adapters, the conductor wired over it. */
export const createEngine = async (options: EngineOptions = {}): Promise<Engine> => {
  const backend = await makeBackend({
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
    ...(options.store !== undefined ? { store: options.store } : {}),
    ...(options.synchronous !== undefined ? { synchronous: options.synchronous } : {}),
    ...(options.broker !== undefined ? { broker: options.broker } : {}),
  });
  const { store, broker } = backend;
  let registry: WorkerRegistry;
  try {
    registry = makeWorkerRegistry(options.workers ?? []);
    validateQueueOptions(options.queues);
    retentionPolicy(options.retention);
    checkMetricsOptions(options.metrics);
  } catch (error) {
    await backend.close();
    throw error;
  }
  const log = options.logger ?? silentLogger;
  const processId = makeProcessId(randomBytes(4).toString('hex'));
  const releaseProcessId = holdProcessId(processId);
  // Issue 23: Prometheus metrics (docs/metrics.md), when asked for: an observer of the job moves, appends timed.
  const metrics = options.metrics === undefined ? undefined : attachMetrics(options.metrics, log);
  const jobs: JobStore = makeJobStore(metrics === undefined ? store : metrics.timeAppends(store), { engineVersion, origin: processId });
  const gracePeriodMs = options.gracePeriodMs ?? 25_000;
  let started = false;
  let forced = false;
  const backoffMs = (tries: number): number => Math.min(5_000, 50 * 2 ** Math.min(tries, 7));
  // A started engine's: the released continuations whose dispatch it keeps publishing until the broker takes it.
  let dispatchRetries: DispatchRetries | undefined;
  const cancels = makeCancelWatch(log);
  const deps: ConductorDeps & { readonly store: typeof store } = {
    store,
    jobs,
    broker,
    registry,
    log,
    now: options.now ?? (() => new Date()),
    random: options.random ?? Math.random,
    processId,
    ...(metrics !== undefined ? { observer: metrics.observer } : {}),
    backoff: async (tries) => {
      if (forced) return false;
      await sleep(backoffMs(tries));
      return !forced;
    },
    // A delivery kept while the store or broker is down has not started: it goes back when the engine stops.
    pause: async (tries) => {
      if (!started) return false;
      await sleep(backoffMs(tries));
      return started;
    },
    retryDispatch: (view) => dispatchRetries?.add(view) ?? false,
    onWorkerLost: (workerId, lost) =>
      void noteRecovered({ store, processId, log, now: options.now ?? (() => new Date()) }, workerId, [lost]),
    // A delivery waiting for a slot of its worker is handed back once the engine stops.
    accepting: () => started,
    // Cancel requests abort the attempts running here (docs/architecture.md#cancelling-a-running-attempt).
    cancels,
    // Rate limits (docs/rate-limits.md): absent when no worker or queue has one.
    ...(() => {
      const rateLimits = makeRateLimits(
        { store, processId, log, now: options.now ?? (() => new Date()), random: options.random ?? Math.random },
        registry,
        options.queues,
      );
      return rateLimits === undefined ? {} : { rateLimits };
    })(),
  };
  const running = makeRunningAttempts();
  const handler = makeWorkHandler(deps, running);
  let consumers: Consumer[] = [];
  let stopWatching: (() => Promise<void>) | undefined;
  let stopReleasing: (() => Promise<void>) | undefined;
  let stopCancelWatch: (() => Promise<void>) | undefined;
  let unlisten: (() => void) | undefined;
  // Recurring jobs (docs/recurring.md): the schedule streams, and the scheduler of a started engine.
  const scheduleDeps: ScheduleDeps = { conductor: deps, schedules: makeScheduleStore(store, { engineVersion, origin: processId }) };
  let scheduler: Scheduler | undefined;
  // Issue 22: a started engine's heartbeat (while it runs attempts) and its periodic sweep for what is stranded.
  let heartbeat: Heartbeat | undefined;
  let sweeper: Sweeper | undefined;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 5_000;
  // Issue 22: retention (docs/retention.md): a started engine purges final jobs older than their status's age.
  let retention: Retention | undefined;
  // Issue 22: paused queues (docs/queues.md): the `queue-<name>` streams, a started engine's consumers that follow them.
  const queueStore = makeQueueStore(store, { engineVersion, origin: processId });
  let queueConsumers: QueueConsumers | undefined;

  // Issue 22: the store remembers its broker; an engine with another kind is refused before it records anything.
  const brokerGuard = makeBrokerGuard({
    store,
    kind: broker.kind,
    ...(typeof options.broker === 'string' && broker.kind !== 'memory' ? { url: redactUrl(options.broker) } : {}),
    enabled: options.rememberBroker ?? true,
    processId,
    meta: { engineVersion, origin: processId },
    now: deps.now,
  });

  const readSide = holdReadSide(store, { holderId: processId, logger: log, isHolderGone: (holder) => isProcessGone(holder, processId) });
  const head = async (): Promise<string | undefined> => storeRead(store.headPosition());
  const queueOps = makeQueues({ conductor: deps, queues: queueStore, consumers: () => queueConsumers, readSide: () => readSide.current() });
  const stopCollecting = metrics?.collectFrom({
    queues: () => queueOps.list(),
    projectionLag: async () => projectionLag(await readSide.opened(), store, deps.now),
    jobCounts: async () => jobCountsOf(await (await readSide.opened()).queries.getState('job-dashboard')),
  });

  const engine: Engine = {
    registry,
    processId,
    adapters: { store: store.kind, broker: broker.kind, ...(store.synchronous !== undefined ? { synchronous: store.synchronous } : {}) },
    ...(metrics !== undefined ? { metrics: metrics.registry } : {}),
    // "Timed out, still running" (docs/running.md): whether the process running a late action is gone.
    processGone: makeProcessGone(deps, heartbeatIntervalMs),
    enqueue: async (worker: WorkerRef, payload: unknown, enqueueOptions?: EnqueueOptions) => {
      await brokerGuard.check('enqueue');
      const r = await enqueueJob(deps, worker, payload, enqueueOptions);
      if (E.isLeft(r)) throw r.left;
      return queueOps.annotate(r.right);
    },
    enqueueMany: async (items) => {
      await brokerGuard.check('enqueueMany');
      const r = await enqueueJobs(deps, items as readonly EnqueueItem[]);
      if (E.isLeft(r)) throw r.left;
      const outcomes = r.right.map((o) => (E.isLeft(o) ? o.left : o.right));
      if (r.right.some(E.isLeft)) throw new EnqueueManyError(outcomes);
      return Promise.all((outcomes as Enqueued[]).map((o) => queueOps.annotate(o)));
    },
    start: async () => {
      if (started) return undefined;
      await brokerGuard.claim();
      started = true;
      forced = false;
      let report: RecoveryReport | undefined;
      dispatchRetries = makeDispatchRetries(deps, backoffMs);
      const after = await head();
      const recover = options.recover ?? !broker.keepsMessages;
      // One pass over the read side for both recovery and the continuation sweep.
      const toCheck = await readSide.use((r) => startUpJobIds(r, store, recover));
      if (recover) {
        report = await recoverJobs(deps, toCheck.outstanding);
        log.info({ dispatched: report.dispatched, lost: report.lost, skipped: report.skipped }, 'recovery done');
      }
      if (!broker.reachesOtherProcesses) {
        const watcher = watchOtherWriters(deps, after);
        stopWatching = () => watcher.stop();
      }
      // Continuations: release the children of jobs that end from now on; the sweep covers what ended before (a crash).
      const releaser = watchContinuations(deps, after);
      stopReleasing = () => releaser.stop();
      // Cancel requests made by other processes, for the attempts this one runs.
      const cancelWatcher = watchCancelRequests(deps, cancels, after);
      stopCancelWatch = () => cancelWatcher.stop();
      const swept = await sweepContinuations(deps, toCheck.continuations, { redispatch: !recover });
      if (swept.released + swept.cancelled + swept.redispatched > 0) log.info(swept, 'continuations swept');
      // A lost connection takes the deliveries of its channels with it: abort
      // their actions; whoever gets the redeliveries records WorkerLost.
      unlisten = broker.onConnectionChange?.((connected) => {
        if (!connected) running.abortAll('lost');
      });
      // The first heartbeat before any attempt starts: the stream says this process beats (docs/architecture.md).
      if (heartbeatIntervalMs > 0) heartbeat = await startHeartbeat(deps, heartbeatIntervalMs, describeProcess(registry, running));
      // The work queues, each unless paused (read from the queue streams first), and stopped and started as they change.
      queueConsumers = await startQueueConsumers(deps, running, queueStore);
      consumers = await consumeQueues(deps, handler, {
        workQueues: false,
        acceptCommands: options.acceptCommands ?? broker.reachesOtherProcesses,
        ...(options.commandQueue !== undefined ? { commandQueue: options.commandQueue } : {}),
        ...(options.maxCommandBytes !== undefined ? { maxCommandBytes: options.maxCommandBytes } : {}),
      });
      await upsertDeclaredSchedules(
        scheduleDeps,
        registry.names.map((n) => registry.get(n)!),
      );
      // A started engine consumes work, so it fires schedules too (every such process does: no leader).
      if (options.schedules ?? true) scheduler = await startScheduler({ ...scheduleDeps, store, log });
      const sweepIntervalMs = options.sweepIntervalMs ?? 15_000;
      if (sweepIntervalMs > 0)
        sweeper = makeSweeper(deps, () => readSide.current(), {
          intervalMs: sweepIntervalMs,
          ...(options.sweepGraceMs !== undefined ? { graceMs: options.sweepGraceMs } : {}),
          ...(heartbeatIntervalMs > 0 ? { heartbeatIntervalMs } : {}),
          isQueuePaused: (queue) => queueConsumers?.isPaused(queue) === true,
        });
      retention = startRetention(deps, () => readSide.opened(), retentionPolicy(options.retention));
      log.info({ queues: registry.queues, workers: registry.names, processId }, 'engine started');
      return report;
    },
    stop: async (stopOptions) => {
      if (!started) return;
      started = false;
      const grace = stopOptions?.gracePeriodMs ?? gracePeriodMs;
      await scheduler?.stop();
      scheduler = undefined;
      await sweeper?.stop();
      sweeper = undefined;
      await retention?.stop();
      retention = undefined;
      const stopping = Promise.all([...consumers.map((c) => c.stop()), queueConsumers?.stop()]);
      consumers = [];
      queueConsumers = undefined;
      const timer = setTimeout(() => {
        forced = true;
        log.warn({ running: running.size, gracePeriodMs: grace }, 'grace period over: aborting running actions');
        running.abortAll('shutdown');
      }, grace);
      try {
        await stopping;
      } finally {
        clearTimeout(timer);
        unlisten?.();
        await stopWatching?.();
        stopWatching = undefined;
        await stopReleasing?.();
        stopReleasing = undefined;
        await stopCancelWatch?.();
        stopCancelWatch = undefined;
        await dispatchRetries?.stop();
        dispatchRetries = undefined;
        await heartbeat?.stop();
        heartbeat = undefined;
        // What the rate limits cost this process (docs/rate-limits.md): appends, conflicts, reads.
        if (deps.rateLimits !== undefined) log.info({ rateLimits: deps.rateLimits.stats() }, 'rate limits');
      }
    },
    close: async (closeOptions) => {
      await engine.stop(closeOptions);
      stopCollecting?.();
      await readSide.close();
      await backend.close();
      releaseProcessId();
    },
    getJob: async <R>(jobId: JobRef<R>) => {
      // The result as recorded: `R` is what the worker's action resolved with.
      const state = (await storeRead(jobs.load(jobId))).state;
      return isJobView(state) ? (state as JobView<R>) : undefined;
    },
    listJobs: async (filter) => listJobs((await readSide.current()).queries, filter),
    projections: async () => {
      const { queries, runtime } = await readSide.current();
      return runtime ? { queries, runtime } : { queries };
    },
    history: (jobId) => storeRead(jobs.history(jobId)),
    follow: (jobId, handlers) => followJob(store, jobId, handlers),
    retry: async (jobId, actionOptions) => {
      await brokerGuard.check('retry');
      return retryJob(deps, jobId, actionOptions);
    },
    cancel: async (jobId, actionOptions) => {
      await brokerGuard.check('cancel');
      return cancelJob(deps, jobId, actionOptions);
    },
    waitForFinal: (jobIds, waitOptions) => waitForFinal(deps, jobIds, waitOptions),
    upsertSchedule: (scheduleId, scheduleOptions) => upsertSchedule(scheduleDeps, scheduleId, scheduleOptions as ScheduleOptions),
    removeSchedule: (scheduleId, actionOptions) => removeSchedule(scheduleDeps, scheduleId, actionOptions?.by),
    pauseSchedule: (scheduleId, actionOptions) => pauseSchedule(scheduleDeps, scheduleId, actionOptions?.by),
    resumeSchedule: (scheduleId, actionOptions) => resumeSchedule(scheduleDeps, scheduleId, actionOptions?.by),
    triggerSchedule: async (scheduleId, actionOptions) => {
      await brokerGuard.check('triggerSchedule');
      return triggerSchedule(scheduleDeps, scheduleId, actionOptions?.by);
    },
    listSchedules: () => listSchedules(scheduleDeps),
    getSchedule: (scheduleId) => getSchedule(scheduleDeps, scheduleId),
    pauseQueue: (queue, queueOptions) => queueOps.pause(queue, queueOptions),
    resumeQueue: (queue, queueOptions) => queueOps.resume(queue, queueOptions),
    listQueues: () => queueOps.list(),
    listProcesses: (o) => listProcesses(store, { ...o, now: deps.now, isGoneHere: (id) => isProcessGone(id, processId) }),
    recordedBroker: () => brokerGuard.read(),
    checkBroker: () => brokerGuard.check('checkBroker'),
    setBroker: (actionOptions) => brokerGuard.set(actionOptions),
    purge: (selection, purgeOptions) => purgeJobs(deps, () => readSide.current(), selection, purgeOptions),
    // One job at a time through the engine's own retry and cancel, so that what they do per job holds in bulk too.
    retryMany: (selection, actionOptions) =>
      retryMany(deps, () => readSide.current(), selection, { ...actionOptions, retry: (id, o) => engine.retry(id, o) }),
    cancelMany: (selection, actionOptions) =>
      cancelMany(deps, () => readSide.current(), selection, { ...actionOptions, cancel: (id, o) => engine.cancel(id, o) }),
    runRetention: async () => {
      if (retention !== undefined) return retention.run();
      const once = startRetention(deps, () => readSide.opened(), retentionPolicy(options.retention));
      try {
        return await once.run();
      } finally {
        await once.stop();
      }
    },
  };
  return engine;
};
