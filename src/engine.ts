import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as E from 'fp-ts/lib/Either.js';
import {
  cancel as cancelTransition,
  isFinal,
  isJobView,
  isoDate,
  jobIdOfStream,
  jobStreamPrefix,
  resetToInitialState,
  type JobEvent,
  type JobRef,
  type JobState,
  type JobStatus,
  type JobView,
  type TransitionRejected,
} from './job/index.js';
import { makeEventStore, type EmbeddedEventStore, type EventStore } from './eventStore/index.js';
import { enqueueQueueName, makeBroker, rejectedQueueName, workQueueName, type Broker, type Consumer } from './broker/index.js';
import { makeJobStore, type JobStore, type LoadedJob, type RecordedJobEvent } from './jobStore/index.js';
import { makeWorkerRegistry, type Worker, type WorkerRegistry } from './worker/index.js';
import {
  enqueueJob,
  enqueueJobs,
  EnqueueManyError,
  isWorkerGone,
  makeRunningAttempts,
  makeWorkerId,
  makeEnqueueCommandHandler,
  makeWorkHandler,
  publishAttempt,
  recoverJobs,
  type ConductorDeps,
  type Enqueued,
  type EnqueueItem,
  type EnqueueOptions,
  type RecoveryReport,
  type WorkerRef,
} from './conductor/index.js';
import { silentLogger, type Logger } from './log/index.js';
import { ProjectionNames, runProjections, type ProjectionQueries, type ProjectionsHandle } from './projections/index.js';
import { brandClass, BrokerUnavailableError, ErrorCodes, JobtrailError, StoreUnavailableError, TimeoutError } from './errors/index.js';
import { engineVersion } from './version.js';

export { engineVersion };

/** Default store URL: a SQLite file under the working directory. */
export const defaultStoreUrl = 'sqlite:./.jobtrail/events.db';
/** Default broker URL: the in-process broker. */
export const defaultBrokerUrl = 'memory';

export interface EngineOptions {
  /** A store URL (`sqlite:<path>`, `sqlite::memory:`, `esdb://…`) or an adapter. Default: `sqlite:./.jobtrail/events.db`. */
  readonly store?: string | EventStore;
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
   * when the broker keeps nothing across restarts. Default: true for `memory`.
   */
  readonly recover?: boolean;
  /**
   * Consume enqueue commands of the wire contract from `jobtrail.enqueue`
   * (docs/architecture.md#the-wire-contract). Every process that does must register every worker a
   * producer may name (commands naming others are rejected). Default: true
   * unless the broker is `memory`.
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

/** Who asked for a manual action, for the record. */
export interface ActionOptions {
  readonly by?: string;
  readonly reason?: string;
}

/** A retry or cancel the state machine refused (e.g. cancelling a completed job). */
export class TransitionRejectedError extends JobtrailError {
  static {
    brandClass(this, 'TransitionRejectedError');
  }
  constructor(readonly rejection: TransitionRejected) {
    super(ErrorCodes.TransitionRejected, rejection.message);
    this.name = 'TransitionRejectedError';
  }
}

/** The job does not exist. */
export class JobNotFoundError extends JobtrailError {
  static {
    brandClass(this, 'JobNotFoundError');
  }
  constructor(readonly jobId: string) {
    super(ErrorCodes.JobNotFound, `job "${jobId}" does not exist (no stream job-${jobId})`);
    this.name = 'JobNotFoundError';
  }
}

export interface Engine {
  readonly store: EventStore;
  readonly broker: Broker;
  readonly registry: WorkerRegistry;
  readonly workerId: string;
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
   * The read side (docs/architecture.md#projections): `getState('job-dashboard')`, `listJobViews`,
   * `subscribe(name, onChange)`. Embedded: the in-process runtime (started on
   * first use, under the store's lease); EventStoreDB: its own projections.
   */
  projections(): Promise<Projections>;
  /** The replay of what happened: every event with its revision, position, time and metadata. */
  history(jobId: string): Promise<readonly RecordedJobEvent[]>;
  /** `resetToInitialState` (manual) and a new dispatch; a fresh budget of attempts. */
  retry(jobId: string, options?: ActionOptions): Promise<JobView>;
  /** Cancels an `initial` or `errored` job. */
  cancel(jobId: string, options?: ActionOptions): Promise<JobView>;
  /**
   * Resolves when every given job is final (completed, cancelled, or failed for
   * good), checking as events that end a job arrive; `onChange` sees each job
   * as it becomes final.
   */
  waitForFinal<R>(
    jobIds: readonly JobRef<R>[],
    options?: { readonly timeoutMs?: number; readonly onChange?: (view: JobView<R>) => void },
  ): Promise<readonly JobView<R>[]>;
}

const unwrapRead = async <A>(task: () => Promise<E.Either<{ message: string }, A>>): Promise<A> => {
  const r = await task();
  if (E.isLeft(r)) throw new StoreUnavailableError(r.left.message);
  return r.right;
};

/** The composition root: picks adapters from URLs and wires the conductor. */
export const createEngine = async (options: EngineOptions = {}): Promise<Engine> => {
  const ownsStore = typeof options.store !== 'object';
  const ownsBroker = typeof options.broker !== 'object';
  const store = typeof options.store === 'object' ? options.store : await makeEventStore(options.store ?? defaultStoreUrl);
  let broker: Broker;
  try {
    broker = typeof options.broker === 'object' ? options.broker : await makeBroker(options.broker ?? defaultBrokerUrl);
  } catch (error) {
    if (ownsStore) await store.close();
    throw error;
  }
  const registry = makeWorkerRegistry(options.workers ?? []);
  const log = options.logger ?? silentLogger;
  const now = options.now ?? (() => new Date());
  const random = options.random ?? Math.random;
  const workerId = makeWorkerId(randomBytes(4).toString('hex'));
  const jobs: JobStore = makeJobStore(store, { engineVersion, origin: workerId });
  const gracePeriodMs = options.gracePeriodMs ?? 25_000;
  let forced = false;
  const backoffMs = (tries: number): number => Math.min(5_000, 50 * 2 ** Math.min(tries, 7));
  const deps: ConductorDeps = {
    jobs,
    broker,
    registry,
    log,
    now,
    random,
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
  let unlisten: (() => void) | undefined;
  let started = false;

  type OpenProjections = Projections & { close(): Promise<void> };
  const makeProjections = async (): Promise<OpenProjections> => {
    if (store.kind === 'sqlite' && 'database' in store) {
      const runtime = await runProjections({
        store: store as EmbeddedEventStore,
        holderId: workerId,
        logger: log,
        isHolderGone: (holder) => isWorkerGone(holder, workerId),
      });
      return {
        queries: runtime.queries,
        runtime,
        close: async () => {
          await runtime.stop();
          await runtime.queries.close();
        },
      };
    }
    if (store.kind === 'esdb' && typeof options.store === 'string') {
      const [{ EventStoreDBClient }, { makeEsdbProjectionQueries }] = await Promise.all([
        import('@eventstore/db-client'),
        import('./projections/esdb.js'),
      ]);
      const client = EventStoreDBClient.connectionString(options.store);
      const queries = await makeEsdbProjectionQueries({
        client,
        onError: (error) => log.error({ err: String(error) }, 'projection subscription failed'),
      });
      return {
        queries,
        close: async () => {
          await queries.close();
          await client.dispose();
        },
      };
    }
    throw new Error(`projections are not available for a ${store.kind} store given as an object; pass its URL`);
  };
  /** Opened on first use by a reader (listJobs, a dashboard); a worker process that only runs jobs does not fold them. */
  let projectionsOpen: Promise<OpenProjections> | undefined;
  const openProjections = () => (projectionsOpen ??= makeProjections());

  /** The lease holder first folds what the store holds; others read what the holder keeps. */
  const caughtUp = async (p: OpenProjections) => {
    if (p.runtime?.isLeader()) await p.runtime.caughtUp({ timeoutMs: 60_000 });
    return p;
  };
  const currentProjections = async () => caughtUp(await openProjections());

  /** Runs `f` on the projections as of now: the open ones, or a runtime opened for it and stopped after. */
  const withProjections = async <A>(f: (p: OpenProjections) => Promise<A>): Promise<A> => {
    if (projectionsOpen) return f(await currentProjections());
    const p = await makeProjections();
    try {
      return await f(await caughtUp(p));
    } finally {
      await p.close();
    }
  };

  /**
   * Every job that may need recovery: those the job-view projection holds as
   * `initial`, `in_progress` or `errored`, plus every job with an event past
   * the projection's checkpoint (the state another process kept may lag).
   */
  const outstandingJobIds = (): Promise<string[]> =>
    withProjections(async ({ queries, runtime }) => {
      const ids = new Set<string>();
      for (const status of ['initial', 'in_progress', 'errored'] as const) {
        let after: string | undefined;
        do {
          const page = await queries.listJobViews({ status, limit: 1000, ...(after !== undefined ? { after } : {}) });
          for (const j of page.jobs) ids.add(j.jobId);
          after = page.next;
        } while (after !== undefined);
      }
      if (runtime) {
        let after = runtime.queries.checkpoint(ProjectionNames.jobView);
        for (;;) {
          const page = await unwrapRead(
            store.readAll({ streamPrefix: jobStreamPrefix, maxCount: 5_000, ...(after !== undefined ? { after } : {}) }),
          );
          for (const e of page) {
            const id = jobIdOfStream(e.streamId);
            if (id !== undefined) ids.add(id);
          }
          const last = page[page.length - 1];
          if (!last) break;
          after = last.position;
        }
      }
      return [...ids];
    });

  /** The job folded from its own stream: exact, for the engine's own decisions. */
  const readJob = async (jobId: string) => {
    const loaded = await unwrapRead(jobs.load(jobId));
    return isJobView(loaded.state) ? loaded.state : undefined;
  };

  const act = async (jobId: string, decide: (s: JobState) => E.Either<TransitionRejected, readonly JobEvent[]>, by: string | undefined) => {
    for (;;) {
      const loaded: LoadedJob = await unwrapRead(jobs.load(jobId));
      if (!isJobView(loaded.state)) throw new JobNotFoundError(jobId);
      const r = await jobs.transition(loaded, decide, {
        correlationId: jobId,
        causationId: `manual:${randomBytes(4).toString('hex')}`,
        ...(by !== undefined ? { by } : {}),
      })();
      if (E.isRight(r)) return r.right.state as JobView;
      if (r.left._tag === 'TransitionRejected') throw new TransitionRejectedError(r.left);
      if (r.left._tag === 'StoreUnavailable') throw new StoreUnavailableError(r.left.message);
    }
  };

  const engine: Engine = {
    store,
    broker,
    registry,
    workerId,
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
      const head = await latestPosition();
      if (options.recover ?? broker.kind === 'memory') {
        report = await recoverJobs(deps, await outstandingJobIds());
        log.info({ dispatched: report.dispatched, lost: report.lost, skipped: report.skipped }, 'recovery done');
      }
      if (broker.kind === 'memory') watchOtherWriters(head);
      // A lost connection takes the deliveries of its channels with it: abort
      // their actions; whoever gets the redeliveries records WorkerLost.
      unlisten = broker.onConnectionChange?.((connected) => {
        if (!connected) running.abortAll('lost');
      });
      for (const queue of registry.queues) {
        const prefetch = Math.max(...registry.workers.filter((w) => w.queue === queue).map((w) => w.concurrency));
        consumers.push(await broker.consume(workQueueName(queue), handler, { prefetch }));
      }
      if (options.acceptCommands ?? broker.kind !== 'memory') {
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
        await watcher?.stop();
        watcher = undefined;
      }
    },
    close: async (closeOptions) => {
      await engine.stop(closeOptions);
      if (projectionsOpen) await (await projectionsOpen.catch(() => undefined))?.close();
      if (ownsBroker) await broker.close();
      if (ownsStore) await store.close();
    },
    // The job's own stream, folded: exact, whatever the projections have reached. The result
    // is as recorded: `R` is what the worker's action resolved with.
    getJob: async <R>(jobId: JobRef<R>) => (await readJob(jobId)) as JobView<R> | undefined,
    listJobs: async (filter = {}) => {
      const { queries } = await currentProjections();
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
      const { queries, runtime } = await currentProjections();
      return runtime ? { queries, runtime } : { queries };
    },
    history: (jobId) => unwrapRead(jobs.history(jobId)),
    retry: async (jobId, actionOptions = {}) => {
      const view = await act(
        jobId,
        (s) =>
          resetToInitialState(s, {
            at: isoDate(now()),
            reason: 'manual',
            ...(actionOptions.by !== undefined ? { by: actionOptions.by } : {}),
          }),
        actionOptions.by,
      );
      const published = await publishAttempt(deps, view, view.attempts + 1);
      if (E.isLeft(published))
        throw new BrokerUnavailableError(
          `job "${jobId}" was reset but its dispatch could not be published (${published.left}); it will be dispatched by recovery or a new retry`,
        );
      return view;
    },
    cancel: (jobId, actionOptions = {}) =>
      act(
        jobId,
        (s) =>
          cancelTransition(s, {
            at: isoDate(now()),
            ...(actionOptions.reason !== undefined ? { reason: actionOptions.reason } : {}),
            ...(actionOptions.by !== undefined ? { by: actionOptions.by } : {}),
          }),
        actionOptions.by,
      ),
    waitForFinal: async <R>(
      jobIds: readonly JobRef<R>[],
      waitOptions: { readonly timeoutMs?: number; readonly onChange?: (view: JobView<R>) => void } = {},
    ) => {
      const pending = new Set<string>(jobIds);
      const views = new Map<string, JobView<R>>();
      let resolveDone!: () => void;
      const done = new Promise<void>((r) => (resolveDone = r));
      const check = async (id: string) => {
        const view = (await readJob(id)) as JobView<R> | undefined;
        if (!view) return;
        waitOptions.onChange?.(view);
        if (isFinal(view)) {
          views.set(id, view);
          pending.delete(id);
          if (pending.size === 0) resolveDone();
        }
      };
      const subscription = store.subscribe(
        { streamPrefix: jobStreamPrefix, ...(await latestPosition()) },
        {
          onEvent: async (e) => {
            const id = jobIdOfStream(e.streamId);
            // Only an event that can end a job is worth reading the job for.
            const ending =
              e.type === 'JobCompleted' ||
              e.type === 'JobCancelled' ||
              (e.type === 'JobErrored' && (e.data as { retryAt?: string }).retryAt === undefined);
            if (ending && id !== undefined && pending.has(id)) await check(id);
          },
        },
      );
      const timeout = new AbortController();
      try {
        for (const id of [...pending]) await check(id);
        if (pending.size > 0) {
          const timeoutMs = waitOptions.timeoutMs;
          await (timeoutMs === undefined
            ? done
            : Promise.race([
                done,
                sleep(timeoutMs, undefined, { signal: timeout.signal }).then(() => {
                  throw new TimeoutError(
                    `${pending.size} of ${jobIds.length} jobs were not final after ${timeoutMs} ms: ${[...pending].slice(0, 10).join(', ')}`,
                  );
                }),
              ]));
        }
      } finally {
        timeout.abort();
        await subscription.stop();
      }
      return jobIds.map((id) => views.get(id)!);
    },
  };

  /**
   * The in-process broker only carries this process's dispatches. Jobs that
   * other processes sharing the store enqueue or retry (the CLI, another
   * `jobtrail run`) are seen in the store and dispatched here; a duplicate
   * dispatch is harmless.
   */
  let watcher: { stop(): Promise<void> } | undefined;
  const watchOtherWriters = (head: { after?: string }) => {
    watcher = store.subscribe(
      // Only other processes' jobs matter here: the SQLite store then skips this process's own commits
      // without reading them back (a large share of the CPU otherwise).
      { streamPrefix: jobStreamPrefix, ...head, skipOwnAppends: true },
      {
        onEvent: async (e) => {
          // Still needed: other stores deliver our own events, and so does SQLite for what was appended before the subscription started.
          if (e.metadata['origin'] === workerId) return;
          if (e.type !== 'JobEnqueued' && !(e.type === 'JobReset' && (e.data as { reason?: string }).reason === 'manual')) return;
          const id = jobIdOfStream(e.streamId);
          if (id === undefined) return;
          const view = await readJob(id).catch(() => undefined);
          if (!view || view.status !== 'initial') return;
          const delay = view.attempts === 0 && view.runAt !== undefined ? Date.parse(view.runAt) - now().getTime() : 0;
          const r = await publishAttempt(deps, view, view.attempts + 1, delay);
          if (E.isLeft(r)) log.error({ jobId: id, err: r.left }, 'could not dispatch a job enqueued by another process');
        },
        onError: (error) => log.error({ err: error.message }, 'stopped watching the store for jobs of other processes'),
      },
    );
  };

  /** The position to subscribe after so that only new events arrive (we check current state ourselves). */
  const latestPosition = async (): Promise<{ after?: string }> => {
    const head = await unwrapRead(store.headPosition());
    return head === undefined ? {} : { after: head };
  };

  return engine;
};
