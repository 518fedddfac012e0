import type { ActionOptions } from '../conductor/index.js';
import type { JobView } from '../job/index.js';
import type { FollowJobHandlers, JobFollow, RecordedJobEvent } from '../jobStore/index.js';
import type { ProjectionQueries } from '../projections/index.js';
import type { ScheduleInfo } from '../schedules/index.js';
import type { QueueActionOptions, QueueChange, QueueInfo } from '../queues/index.js';
import type { ListProcessesOptions, ProcessSummary } from '../processes/index.js';

/** What a bulk action did, per job. */
export interface BulkActionReport {
  readonly outcomes: readonly { readonly jobId: string; readonly outcome: string; readonly reason?: string }[];
}

/** The projection queries the dashboard reads: the `job-dashboard` state and its changes (the overview), and `listJobViews` (the lists). */
export type DashboardQueries = Pick<ProjectionQueries, 'getState' | 'subscribe' | 'listJobViews' | 'searchJobs' | 'countJobs'>;

/**
 * The dashboard's read model of the engine: what it reads, and the two manual
 * actions it offers. An `Engine` is one as it is, so `runDashboard({ engine })`
 * takes the result of `createEngine`; nothing else of the engine is reached.
 */
export interface DashboardEngine {
  /** What the engine runs on, shown in the footer: the store's and the broker's kind. */
  readonly adapters: { readonly store: string; readonly broker: string };
  /** The read side (see `DashboardQueries`). */
  projections(): Promise<{ readonly queries: DashboardQueries }>;
  /** The job's view folded from its own stream; `undefined` when there is no such job. */
  getJob(jobId: string): Promise<JobView | undefined>;
  /** Whether a process is gone (`Engine.processGone`): a "timed out, still running" action of a gone process is not shown as running. Optional. */
  processGone?(processId: string): Promise<boolean>;
  /** Every event of the job's stream with its revision, time and metadata: the job page's history. */
  history(jobId: string): Promise<readonly RecordedJobEvent[]>;
  /** The job's history, then each event appended to it, until stopped: the job page's live feed. */
  follow(jobId: string, handlers: FollowJobHandlers): Promise<JobFollow>;
  /** A manual retry; throws `TransitionRejectedError` when the state machine refuses it, `JobNotFoundError` when there is no such job. */
  retry(jobId: string, options?: ActionOptions): Promise<JobView>;
  /** A manual cancel; refused as `retry` is. */
  cancel(jobId: string, options?: ActionOptions): Promise<JobView>;
  /** Purge (docs/retention.md): optional, as the schedules are; a job page offers it for a final job where there is one. */
  purge?(
    jobIds: readonly string[],
    options?: ActionOptions,
  ): Promise<{ readonly outcomes: readonly { readonly outcome: string; readonly reason?: string }[] }>;
  /** Bulk retry and cancel (the console's bulk actions, docs/dashboard.md): optional; the list offers no bulk actions without them. */
  retryMany?(jobIds: readonly string[], options?: ActionOptions): Promise<BulkActionReport>;
  cancelMany?(jobIds: readonly string[], options?: ActionOptions): Promise<BulkActionReport>;
  // Recurring jobs (the Recurring page); optional, so that a read model without them still serves the other pages.
  listSchedules?(): Promise<readonly ScheduleInfo[]>;
  pauseSchedule?(scheduleId: string, options?: ActionOptions): Promise<unknown>;
  resumeSchedule?(scheduleId: string, options?: ActionOptions): Promise<unknown>;
  triggerSchedule?(scheduleId: string, options?: ActionOptions): Promise<{ readonly jobId: string }>;
  removeSchedule?(scheduleId: string, options?: ActionOptions): Promise<void>;
  // Queues (the Queues page, docs/queues.md); optional as the schedules are.
  listQueues?(): Promise<readonly QueueInfo[]>;
  pauseQueue?(queue: string, options?: QueueActionOptions): Promise<QueueChange>;
  resumeQueue?(queue: string, options?: QueueActionOptions): Promise<QueueChange>;
  /** The engine's Prometheus registry (`createEngine({ metrics })`), served at `/metrics` (docs/metrics.md); optional. */
  readonly metrics?: { metrics(): Promise<string>; readonly contentType: string };
  // The `jobtrail run` processes (the Processes page, docs/processes.md); optional as the queues are.
  listProcesses?(options?: ListProcessesOptions): Promise<readonly ProcessSummary[]>;
}
