import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as E from 'fp-ts/lib/Either.js';
import { makeBackend, type ReadSide, type StoreBackend } from './backends/index.js';
import { enqueueQueueName, rejectedQueueName, workQueueName, type Broker, type Consumer } from './broker/index.js';
import {
  cancelJob,
  enqueueJob,
  enqueueJobs,
  EnqueueManyError,
  isWorkerGone,
  makeEnqueueCommandHandler,
  makeRunningAttempts,
  makeWorkerId,
  makeWorkHandler,
  outstandingJobIds,
  recoverJobs,
  retryJob,
  waitForFinal,
  watchOtherWriters,
  type ActionOptions,
  type ConductorDeps,
  type Enqueued,
  type EnqueueItem,
  type EnqueueOptions,
  type RecoveryReport,
  type WaitForFinalOptions,
  type WorkerRef,
} from './conductor/index.js';
import { StoreUnavailableError } from './errors/index.js';
import { isJobView, type JobRef, type JobStatus, type JobView } from './job/index.js';
import { followJob, makeJobStore, type FollowJobHandlers, type JobFollow, type JobStore, type RecordedJobEvent } from './jobStore/index.js';
import { silentLogger, type Logger } from './log/index.js';
import type { ProjectionQueries, ProjectionsHandle } from './projections/index.js';
import { engineVersion } from './version.js';
import { makeWorkerRegistry, type Worker, type WorkerRegistry } from './worker/index.js';

export { engineVersion };
export { defaultBrokerUrl, defaultStoreUrl } from './backends/index.js';

export interface EngineOptions {
  /**
   * A store URL (`sqlite:<path>`, `sqlite::memory:`, `esdb://…`) or a store
   * made by `makeStore` (which brings its read side). Default:
   * `sqlite:./.jobtrail/events.db`.
   */
  readonly store?: string | StoreBackend;
  /** A broker URL (`memory`, `amqp://…`) or an adapter. Default: `memory`. */
  readonly broker?: string | Broker;
  /** The workers this process can run. Default: none (an engine that only enqueues and queries). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly workers?: readonly Worker<any>[];
  /** Default: silent. */
  readonly logger?: Logger;
  /** How long `stop` lets running actions finish before aborting them. Default: 25 000 ms. */
  readonly gracePeriodMs?: number;
  /**
   * Recover what a crash left behind at `start` (dispatch `initial` jobs and
   * due retries, record `WorkerLost` for attempts of dead processes). Needed
   * when the broker keeps no messages across restarts. Default: true for such
   * a broker (`memory`), false for RabbitMQ.
   */
  readonly recover?: boolean;
  /**
   * Consume enqueue commands of the wire contract from `jobtrail.enqueue`.
   * Every process that does must register every worker a producer may name
   * (commands naming others are rejected). Default: true where the broker
   * reaches other processes (RabbitMQ).
   */
  readonly acceptCommands?: boolean;
  /** Where enqueue commands come from; refused ones go to `<commandQueue>.rejected`. Default: `jobtrail.enqueue` (the wire contract's). */
  readonly commandQueue?: string;
  /** Largest enqueue command accepted, in bytes. Default: 1 MiB. */
  readonly maxCommandBytes?: number;
  /** Clock, for tests. Default: the system clock. */
  readonly now?: () => Date;
  /** Random draws in [0, 1), for tests. Default: `Math.random`. */
  readonly random?: () => number;
}

export interface ListJobsFilter {
  readonly status?: JobStatus;
  readonly workerName?: string;
  /** Default: 100. */
  readonly limit?: number;
}

/** The read side: the projections' states, and changes as they happen. */
export interface Projections {
  readonly queries: ProjectionQueries;
  /** In the embedded mode, the in-process runtime (`undefined` with EventStoreDB). */
  readonly runtime?: ProjectionsHandle;
}

export interface Engine {
  readonly registry: WorkerRegistry;
  /** `host:pid:random`: this process, as recorded in the attempts it starts. */
  readonly workerId: string;
  /** What the engine runs on, for display: the store's and the broker's kind (`sqlite`, `esdb`; `memory`, `rabbitmq`). */
  readonly adapters: { readonly store: string; readonly broker: string };
  /**
   * Records the job and dispatches it; throws `EnqueueRejectedError` with a
   * reason when refused. Given the worker itself, the payload is typed by its
   * codec and the job id carries its result type; the worker need not be
   * registered in this engine (a process that only enqueues). Given a name,
   * the worker must be registered.
   */
  enqueue<P, R>(worker: Worker<P, R>, payload: P, options?: EnqueueOptions): Promise<Enqueued<R>>;
  enqueue(workerName: string, payload: unknown, options?: EnqueueOptions): Promise<Enqueued>;
  /**
   * Enqueues up to 10,000 jobs at once, their appends in shared commits. An
   * invalid item (or a jobId named twice) refuses them all with
   * `EnqueueRejectedError`, recording nothing. When the store or the broker
   * fails part way, throws `EnqueueManyError`, whose `outcomes` say which
   * jobs were enqueued. Resolves with the jobs in the items' order.
   */
  enqueueMany<P = unknown>(items: readonly EnqueueItem<P>[]): Promise<readonly Enqueued[]>;
  /** Recovers (if enabled) and starts consuming the work queues of the registered workers. */
  start(): Promise<RecoveryReport | undefined>;
  /** Stops taking work, lets running actions finish for the grace period, then aborts them (recorded as `Interrupted`, retried). */
  stop(options?: { readonly gracePeriodMs?: number }): Promise<void>;
  /** `stop`, then closes the store and broker the engine opened. */
  close(options?: { readonly gracePeriodMs?: number }): Promise<void>;
  /**
   * The job's view, folded from its own stream (the record): exact, even
   * where the projections lag. `undefined` when there is no such job.
   */
  getJob<R>(jobId: JobRef<R>): Promise<JobView<R> | undefined>;
  /** Job views from the `job-view` projection, newest enqueued first. */
  listJobs(filter?: ListJobsFilter): Promise<readonly JobView[]>;
  /**
   * The read side: `getState('job-dashboard')`, `listJobViews`,
   * `subscribe(name, onChange)`. Embedded: the in-process runtime (started on
   * first use, under the store's lease); EventStoreDB: its own projections.
   */
  projections(): Promise<Projections>;
  /** The replay of what happened: every event with its revision, position, time and metadata. */
  history(jobId: string): Promise<readonly RecordedJobEvent[]>;
  /**
   * Delivers the job's whole history, then each event appended to it, until
   * stopped: `revision` is -1 when the job does not exist (yet).
   */
  follow(jobId: string, handlers: FollowJobHandlers): Promise<JobFollow>;
  /** `resetToInitialState` (manual) and a new dispatch; a fresh budget of attempts. */
  retry(jobId: string, options?: ActionOptions): Promise<JobView>;
  /** Cancels an `initial` or `errored` job. */
  cancel(jobId: string, options?: ActionOptions): Promise<JobView>;
  /**
   * Resolves when every given job is final (completed, cancelled, or failed for
   * good), checking as events that end a job arrive; `onChange` sees each job
   * as it becomes final.
   */
  waitForFinal<R>(jobIds: readonly JobRef<R>[], options?: WaitForFinalOptions<R>): Promise<readonly JobView<R>[]>;
}

const storeRead = async <A>(task: () => Promise<E.Either<{ message: string }, A>>): Promise<A> => {
  const r = await task();
  if (E.isLeft(r)) throw new StoreUnavailableError(r.left.message);
  return r.right;
};

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
  const workerId = makeWorkerId(randomBytes(4).toString('hex'));
  const jobs: JobStore = makeJobStore(store, { engineVersion, origin: workerId });
  const gracePeriodMs = options.gracePeriodMs ?? 25_000;
  let started = false;
  let forced = false;
  const backoffMs = (tries: number): number => Math.min(5_000, 50 * 2 ** Math.min(tries, 7));
  const deps: ConductorDeps & { readonly store: typeof store } = {
    store,
    jobs,
    broker,
    registry,
    log,
    now: options.now ?? (() => new Date()),
    random: options.random ?? Math.random,
    workerId,
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
  };
  const running = makeRunningAttempts();
  const handler = makeWorkHandler(deps, running);
  let consumers: Consumer[] = [];
  let stopWatching: (() => Promise<void>) | undefined;
  let unlisten: (() => void) | undefined;

  const openReadSide = () =>
    store.openReadSide({ holderId: workerId, logger: log, isHolderGone: (holder) => isWorkerGone(holder, workerId) });
  /** Opened on first use by a reader (listJobs, a dashboard); a process that only runs jobs does not fold them. */
  let readSideOpen: Promise<ReadSide> | undefined;
  /** The lease holder first folds what the store holds; others read what the holder keeps. */
  const caughtUp = async (r: ReadSide) => {
    if (r.runtime?.isLeader()) await r.runtime.caughtUp({ timeoutMs: 60_000 });
    return r;
  };
  const currentReadSide = async () => caughtUp(await (readSideOpen ??= openReadSide()));
  /** Runs `f` on the read side as of now: the open one, or one opened for it and closed after. */
  const withReadSide = async <A>(f: (r: ReadSide) => Promise<A>): Promise<A> => {
    if (readSideOpen) return f(await currentReadSide());
    const r = await openReadSide();
    try {
      return await f(await caughtUp(r));
    } finally {
      await r.close();
    }
  };
  const head = async (): Promise<string | undefined> => storeRead(store.headPosition());

  const engine: Engine = {
    registry,
    workerId,
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
      const after = await head();
      if (options.recover ?? !broker.keepsMessages) {
        report = await recoverJobs(deps, await withReadSide((r) => outstandingJobIds(r, store)));
        log.info({ dispatched: report.dispatched, lost: report.lost, skipped: report.skipped }, 'recovery done');
      }
      if (!broker.reachesOtherProcesses) {
        const watcher = watchOtherWriters(deps, after);
        stopWatching = () => watcher.stop();
      }
      // A lost connection takes the deliveries of its channels with it: abort
      // their actions; whoever gets the redeliveries records WorkerLost.
      unlisten = broker.onConnectionChange?.((connected) => {
        if (!connected) running.abortAll('lost');
      });
      for (const queue of registry.queues) {
        const prefetch = Math.max(...registry.workers.filter((w) => w.queue === queue).map((w) => w.concurrency));
        consumers.push(await broker.consume(workQueueName(queue), handler, { prefetch }));
      }
      if (options.acceptCommands ?? broker.reachesOtherProcesses) {
        const commands = makeEnqueueCommandHandler(deps, {
          ...(options.maxCommandBytes !== undefined ? { maxBytes: options.maxCommandBytes } : {}),
        });
        const commandQueue = options.commandQueue ?? enqueueQueueName;
        const rejectedQueue = commandQueue === enqueueQueueName ? rejectedQueueName : `${commandQueue}.rejected`;
        consumers.push(await broker.consume(commandQueue, commands, { prefetch: 50, deadLetterQueue: rejectedQueue }));
      }
      log.info({ queues: registry.queues, workers: registry.names, workerId }, 'engine started');
      return report;
    },
    stop: async (stopOptions) => {
      if (!started) return;
      started = false;
      const grace = stopOptions?.gracePeriodMs ?? gracePeriodMs;
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
      }
    },
    close: async (closeOptions) => {
      await engine.stop(closeOptions);
      if (readSideOpen) await (await readSideOpen.catch(() => undefined))?.close();
      await backend.close();
    },
    getJob: async <R>(jobId: JobRef<R>) => {
      // The result as recorded: `R` is what the worker's action resolved with.
      const state = (await storeRead(jobs.load(jobId))).state;
      return isJobView(state) ? (state as JobView<R>) : undefined;
    },
    listJobs: async (filter = {}) => {
      const { queries } = await currentReadSide();
      const wanted = filter.limit ?? 100;
      const out: JobView[] = [];
      let after: string | undefined;
      do {
        const page = await queries.listJobViews({
          limit: Math.min(1000, wanted - out.length),
          ...(filter.status !== undefined ? { status: filter.status } : {}),
          ...(filter.workerName !== undefined ? { workerName: filter.workerName } : {}),
          ...(after !== undefined ? { after } : {}),
        });
        out.push(...page.jobs);
        after = page.next;
      } while (after !== undefined && out.length < wanted);
      return out;
    },
    projections: async () => {
      const { queries, runtime } = await currentReadSide();
      return runtime ? { queries, runtime } : { queries };
    },
    history: (jobId) => storeRead(jobs.history(jobId)),
    follow: (jobId, handlers) => followJob(store, jobId, handlers),
    retry: (jobId, actionOptions) => retryJob(deps, jobId, actionOptions),
    cancel: (jobId, actionOptions) => cancelJob(deps, jobId, actionOptions),
    waitForFinal: (jobIds, waitOptions) => waitForFinal(deps, jobIds, waitOptions),
  };
  return engine;
};
