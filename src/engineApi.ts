import type { StoreBackend } from './backends/index.js';
import type { Registry } from 'prom-client';
import type { MetricsOptions } from './metrics/index.js';
import type { Broker } from './broker/index.js';
import type {
  ActionOptions,
  BrokerRecord,
  ListJobsFilter,
  Enqueued,
  EnqueueItem,
  EnqueueOptions,
  RecoveryReport,
  WaitForFinalOptions,
} from './conductor/index.js';
import type { QueueOptions } from './conductor/index.js';
import type { BulkReport, JobSelection, PurgeOptions, PurgeReport, RetentionOption, RetentionRun } from './conductor/index.js';
import type { JobRef, JobView } from './job/index.js';
import type { FollowJobHandlers, JobFollow, RecordedJobEvent } from './jobStore/index.js';
import type { Logger } from './log/index.js';
import type { ProjectionQueries, ProjectionsHandle } from './projections/index.js';
import type { Worker, WorkerRegistry } from './worker/index.js';
import type { ScheduleInfo, ScheduleOptions, ScheduleView, UpsertedSchedule } from './schedules/index.js';
import type { QueueActionOptions, QueueChange, QueueInfo } from './queues/index.js';
import type { ListProcessesOptions, ProcessSummary } from './processes/index.js';

// The engine's public types: what createEngine (engine.ts) takes and returns.

export interface EngineOptions {
  /**
   * A store URL (`sqlite:<path>`, `sqlite::memory:`, `esdb://…`) or a store
   * made by `makeStore` (which brings its read side). Default:
   * `sqlite:./.jobtrail/events.db`.
   */
  readonly store?: string | StoreBackend;
  /**
   * The embedded store's durability (SQLite's `synchronous`; docs/guarantees.md), as `?synchronous=` in its URL:
   * `full` (default) syncs every commit to disk, so an acknowledged job survives a power loss; `normal` survives a
   * crash of the process, but a power loss may lose the last commits. Only with a `sqlite:` URL; an error when the URL
   * says another.
   */
  readonly synchronous?: 'full' | 'normal';
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
  /**
   * Fire recurring jobs (docs/recurring.md) from `start`: every started engine may, and exactly one process
   * creates each run. Default: true (an engine that is never started, as the CLI's and the dashboard's, never fires).
   */
  readonly schedules?: boolean;
  /**
   * How often a started engine sweeps for what is stranded (docs/architecture.md#recovery-and-workerlost): attempts
   * of gone processes (recorded as `WorkerLost`, retried), and `initial` jobs or retries overdue by more than
   * `sweepGraceMs` (dispatched again). Each sweep comes at this interval ± 20 %, and looks at a bounded number of
   * jobs. 0 disables it. Default: 15 000 ms, with either broker.
   */
  readonly sweepIntervalMs?: number;
  /** How long past its due time a job waits before the sweep dispatches it again. Default: 60 000 ms. */
  readonly sweepGraceMs?: number;
  /**
   * How often a started engine records a `ProcessHeartbeat` (in stream `process-<processId>`) while it runs
   * attempts, so that other processes can tell it is gone after 6 intervals without one. 0 disables it. Default:
   * 5 000 ms.
   */
  readonly heartbeatIntervalMs?: number;
  /**
   * The store remembers its broker (docs/running.md#the-store-remembers-its-broker): the first engine that `start`s
   * records its broker's kind in the store (`BrokerSet`, stream `jobtrail-settings`), and `start`, `enqueue`,
   * `enqueueMany`, `retry`, `cancel` and `triggerSchedule` of an engine with a broker of another kind throw
   * `BrokerMismatchError` before recording anything (one read of the record, kept). false: neither record nor check
   * (a store shared on purpose by setups with different brokers, as the tests on one EventStoreDB). Default: true.
   */
  readonly rememberBroker?: boolean;
  /**
   * Settings per named queue: `{ reports: { rateLimit: { max: 100, perMs: 60_000 } } }` lets at most 100 attempts of
   * the queue's jobs start per minute across every process sharing the store, on top of each worker's own `rateLimit`
   * (docs/rate-limits.md). Give every process the same. Default: none.
   */
  readonly queues?: Readonly<Record<string, QueueOptions>>;
  /**
   * How long final jobs are kept before a started engine purges them (docs/retention.md): per status an age in ms, a
   * duration (`'1d'`, `'12h'`) or `'forever'`, or `'forever'` for all. Default: completed `1d`, errored (failed for
   * good) `7d`, cancelled `7d`, as Hangfire.
   */
  readonly retention?: RetentionOption;
  /**
   * Prometheus metrics (docs/metrics.md): `{ registry }`, a prom-client `Registry` the engine registers its counters,
   * histograms and scrape-time gauges into (serve it yourself: `await registry.metrics()`). Default: none (no cost).
   */
  readonly metrics?: MetricsOptions;
  /** Clock, for tests. Default: the system clock. */
  readonly now?: () => Date;
  /** Random draws in [0, 1), for tests. Default: `Math.random`. */
  readonly random?: () => number;
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
  readonly processId: string;
  /**
   * What the engine runs on, for display: the store's and the broker's kind (`sqlite`, `esdb`; `memory`, `rabbitmq`);
   * `synchronous`: the embedded store's durability in force (absent for EventStoreDB).
   */
  readonly adapters: { readonly store: string; readonly broker: string; readonly synchronous?: 'full' | 'normal' };
  /** The prom-client registry given as `metrics.registry`, holding this engine's metrics; absent without `metrics`. */
  readonly metrics?: Registry;
  /**
   * Whether the process `processId` (`host:pid:random`, as in `JobStarted` and `actionsRunning`) is certainly gone:
   * on this host by its pid, elsewhere by its heartbeats. A job view's "timed out, still running" attempt whose
   * process is gone is no longer running (docs/running.md#timed-out-still-running).
   */
  processGone(processId: string): Promise<boolean>;
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
  /**
   * Cancels a job. An `initial`, `awaiting` or `errored` one at once (`JobCancelled`). An `in_progress` one:
   * records `JobCancelRequested` (who, when, why) and resolves with the view, still `in_progress`, whose
   * `cancelRequested` says so; the process running the attempt aborts its `ctx.signal` (reason `'cancelled'`)
   * within about a second, and when the action returns the attempt ends as `JobCancelled` (not retried), or
   * as `JobCompleted` if the action returned a result after all. Asking again while that attempt runs
   * records nothing and resolves with the same view. A completed or cancelled job is refused
   * (`TransitionRejectedError`).
   */
  cancel(jobId: string, options?: ActionOptions): Promise<JobView>;
  /**
   * Resolves when every given job is final (completed, cancelled, or failed for
   * good), checking as events that end a job arrive; `onChange` sees each job
   * as it becomes final.
   */
  waitForFinal<R>(jobIds: readonly JobRef<R>[], options?: WaitForFinalOptions<R>): Promise<readonly JobView<R>[]>;
  /**
   * Creates or replaces schedule `scheduleId` (`ScheduleSet`); an equal definition records nothing. Checks the cron,
   * the time zone and the payload first (`InvalidScheduleError`, nothing recorded). Its runs are jobs
   * `<scheduleId>@<fire time ISO>`, enqueued by whichever started engine gets there first (docs/recurring.md).
   */
  upsertSchedule<P>(scheduleId: string, options: ScheduleOptions<P>): Promise<UpsertedSchedule>;
  /** `ScheduleRemoved`: no more runs (the stream stays, the record). `ScheduleNotFoundError` when there is none. */
  removeSchedule(scheduleId: string, options?: ActionOptions): Promise<void>;
  /** `SchedulePaused`: no runs until resumed; the ticks in between are not caught up. */
  pauseSchedule(scheduleId: string, options?: ActionOptions): Promise<ScheduleView>;
  /** `ScheduleResumed`: runs again from the next tick. */
  resumeSchedule(scheduleId: string, options?: ActionOptions): Promise<ScheduleView>;
  /** Runs the schedule once now (job `<scheduleId>@<now>`, moved on by a millisecond when a tick or another trigger has that id), paused or not, and records `ScheduleTriggered`. */
  triggerSchedule(scheduleId: string, options?: ActionOptions): Promise<Enqueued>;
  /** The schedules (removed ones left out), by id, with their next and last runs. */
  listSchedules(): Promise<readonly ScheduleInfo[]>;
  /** One schedule as `listSchedules` shows it; `undefined` when there is none. */
  getSchedule(scheduleId: string): Promise<ScheduleInfo | undefined>;
  /**
   * `QueuePaused` in stream `queue-<queue>` (docs/queues.md): every started engine stops taking work from the queue
   * within a second; enqueues still succeed (the jobs wait in the queue), running jobs finish. A queue paused already
   * records nothing (`changed: false`). `InvalidQueueError` for a name that is not a queue's.
   */
  pauseQueue(queue: string, options?: QueueActionOptions): Promise<QueueChange>;
  /** `QueueResumed`: every started engine that runs a worker of the queue takes work from it again. */
  resumeQueue(queue: string, options?: QueueActionOptions): Promise<QueueChange>;
  /**
   * The queues known here (the registered workers', those ever paused, those of waiting jobs), each paused or not,
   * its workers in this process, and where known its depth and consumers; `noConsumer` when nothing takes its work.
   */
  listQueues(): Promise<readonly QueueInfo[]>;
  /** The `jobtrail run` processes from their heartbeats (docs/processes.md): running, stopped, gone. */
  listProcesses(options?: ListProcessesOptions): Promise<readonly ProcessSummary[]>;
  /** The broker the store says dispatches its jobs (its last `BrokerSet`), read now; `undefined` when none is recorded yet. */
  recordedBroker(): Promise<BrokerRecord | undefined>;
  /** Throws `BrokerMismatchError` when the store's jobs are dispatched by a broker of another kind than this engine's. */
  checkBroker(): Promise<void>;
  /**
   * Records this engine's broker as the one that dispatches the store's jobs (`BrokerSet`, with `by` and `reason`): a
   * deliberate switch. Nothing is recorded when the record says the same already. Restart the processes of the old broker.
   */
  setBroker(options?: ActionOptions): Promise<BrokerRecord>;
  /**
   * Purges final jobs (docs/retention.md): ids, or a filter (status, workerName, queue, since/until enqueued,
   * olderThanMs ended, limit). Each is checked against its own stream: only completed, cancelled or failed-for-good
   * jobs no continuation awaits are purged; the others are refused with the reason. Recorded as `JobsPurged` in
   * `purges-<day>` (by, at, reason, filter, ids); the streams are deleted. `dryRun` says what would go.
   */
  purge(selection: JobSelection, options?: PurgeOptions): Promise<PurgeReport>;
  /** `retry` for each selected job (ids or a filter), with what happened to each. */
  retryMany(selection: JobSelection, options?: ActionOptions): Promise<BulkReport>;
  /** `cancel` for each selected job (ids or a filter), with what happened to each. */
  cancelMany(selection: JobSelection, options?: ActionOptions): Promise<BulkReport>;
  /** One retention run now, with this engine's `retention` (a started engine runs it periodically by itself). */
  runRetention(): Promise<RetentionRun>;
}
