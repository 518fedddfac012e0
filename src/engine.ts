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
} from './conductor/index.js';
import { isJobView, type JobRef, type JobView } from './job/index.js';
import { followJob, makeJobStore, storeRead, type JobStore } from './jobStore/index.js';
import { silentLogger } from './log/index.js';
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

export { engineVersion };
export { defaultBrokerUrl, defaultStoreUrl } from './backends/index.js';
export type { Engine, EngineOptions, Projections } from './engineApi.js';
export type { ListJobsFilter } from './conductor/index.js';

/** The composition root: a backend from URLs or adapters, the conductor wired over it. */
export const createEngine = async (options: EngineOptions = {}): Promise<Engine> => {
  const backend = await makeBackend({
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
    ...(options.store !== undefined ? { store: options.store } : {}),
    ...(options.broker !== undefined ? { broker: options.broker } : {}),
  });
  const { store, broker } = backend;
  let registry: WorkerRegistry;
  try {
    registry = makeWorkerRegistry(options.workers ?? []);
  } catch (error) {
    await backend.close();
    throw error;
  }
  const log = options.logger ?? silentLogger;
  const processId = makeProcessId(randomBytes(4).toString('hex'));
  const releaseProcessId = holdProcessId(processId);
  const jobs: JobStore = makeJobStore(store, { engineVersion, origin: processId });
  const gracePeriodMs = options.gracePeriodMs ?? 25_000;
  let started = false;
  let forced = false;
  const backoffMs = (tries: number): number => Math.min(5_000, 50 * 2 ** Math.min(tries, 7));
  // A started engine's: the released continuations whose dispatch it keeps publishing until the broker takes it.
  let dispatchRetries: DispatchRetries | undefined;
  const deps: ConductorDeps & { readonly store: typeof store } = {
    store,
    jobs,
    broker,
    registry,
    log,
    now: options.now ?? (() => new Date()),
    random: options.random ?? Math.random,
    processId,
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
    // A delivery waiting for a slot of its worker is handed back once the engine stops.
    accepting: () => started,
  };
  const running = makeRunningAttempts();
  const handler = makeWorkHandler(deps, running);
  let consumers: Consumer[] = [];
  let stopWatching: (() => Promise<void>) | undefined;
  let stopReleasing: (() => Promise<void>) | undefined;
  let unlisten: (() => void) | undefined;
  // Recurring jobs (docs/recurring.md): the schedule streams, and the scheduler of a started engine.
  const scheduleDeps: ScheduleDeps = { conductor: deps, schedules: makeScheduleStore(store, { engineVersion, origin: processId }) };
  let scheduler: Scheduler | undefined;
  // Issue 22: a started engine's heartbeat (while it runs attempts) and its periodic sweep for what is stranded.
  let heartbeat: Heartbeat | undefined;
  let sweeper: Sweeper | undefined;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 5_000;

  const readSide = holdReadSide(store, { holderId: processId, logger: log, isHolderGone: (holder) => isProcessGone(holder, processId) });
  const head = async (): Promise<string | undefined> => storeRead(store.headPosition());

  const engine: Engine = {
    registry,
    processId,
    adapters: { store: store.kind, broker: broker.kind },
    enqueue: async (worker: WorkerRef, payload: unknown, enqueueOptions?: EnqueueOptions) => {
      const r = await enqueueJob(deps, worker, payload, enqueueOptions);
      if (E.isLeft(r)) throw r.left;
      return r.right;
    },
    enqueueMany: async (items) => {
      const r = await enqueueJobs(deps, items as readonly EnqueueItem[]);
      if (E.isLeft(r)) throw r.left;
      const outcomes = r.right.map((o) => (E.isLeft(o) ? o.left : o.right));
      if (r.right.some(E.isLeft)) throw new EnqueueManyError(outcomes);
      return outcomes as Enqueued[];
    },
    start: async () => {
      if (started) return undefined;
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
      const swept = await sweepContinuations(deps, toCheck.continuations, { redispatch: !recover });
      if (swept.released + swept.cancelled + swept.redispatched > 0) log.info(swept, 'continuations swept');
      // A lost connection takes the deliveries of its channels with it: abort
      // their actions; whoever gets the redeliveries records WorkerLost.
      unlisten = broker.onConnectionChange?.((connected) => {
        if (!connected) running.abortAll('lost');
      });
      // The first heartbeat before any attempt starts: the stream says this process beats (docs/architecture.md).
      if (heartbeatIntervalMs > 0) heartbeat = await startHeartbeat(deps, heartbeatIntervalMs, () => running.size > 0);
      consumers = await consumeQueues(deps, handler, {
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
        });
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
      const stopping = Promise.all(consumers.map((c) => c.stop()));
      consumers = [];
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
        await dispatchRetries?.stop();
        dispatchRetries = undefined;
        await heartbeat?.stop();
        heartbeat = undefined;
      }
    },
    close: async (closeOptions) => {
      await engine.stop(closeOptions);
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
    retry: (jobId, actionOptions) => retryJob(deps, jobId, actionOptions),
    cancel: (jobId, actionOptions) => cancelJob(deps, jobId, actionOptions),
    waitForFinal: (jobIds, waitOptions) => waitForFinal(deps, jobIds, waitOptions),
    upsertSchedule: (scheduleId, scheduleOptions) => upsertSchedule(scheduleDeps, scheduleId, scheduleOptions as ScheduleOptions),
    removeSchedule: (scheduleId, actionOptions) => removeSchedule(scheduleDeps, scheduleId, actionOptions?.by),
    pauseSchedule: (scheduleId, actionOptions) => pauseSchedule(scheduleDeps, scheduleId, actionOptions?.by),
    resumeSchedule: (scheduleId, actionOptions) => resumeSchedule(scheduleDeps, scheduleId, actionOptions?.by),
    triggerSchedule: (scheduleId, actionOptions) => triggerSchedule(scheduleDeps, scheduleId, actionOptions?.by),
    listSchedules: () => listSchedules(scheduleDeps),
    getSchedule: (scheduleId) => getSchedule(scheduleDeps, scheduleId),
  };
  return engine;
};
