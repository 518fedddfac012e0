// The public API of jobtrail, by name.
export { createEngine, defaultBrokerUrl, defaultStoreUrl, engineVersion } from './engine.js';
export type { Engine, EngineOptions, ListJobsFilter, Projections } from './engine.js';
export { defineWorker, EngineErrors, InvalidWorkerError, JsonPayload, NonRetryableError, Worker } from './worker/index.js';
export type { JobContext, WorkerOptions } from './worker/index.js';
export { EnqueueManyError, EnqueueRejectedError, JobNotFoundError, TransitionRejectedError } from './conductor/index.js';
export type { ActionOptions, Enqueued, EnqueueItem, EnqueueOptions, WaitForFinalOptions, WorkerRef } from './conductor/index.js';
export { BrokerMismatchError } from './conductor/index.js';
export type { BrokerRecord } from './conductor/index.js';
export {
  BrokerUnavailableError,
  ErrorCodes,
  isJobtrailError,
  JobtrailError,
  StoreAccessDeniedError,
  StoreUnavailableError,
  StoreUnsupportedError,
  TimeoutError,
} from './errors/index.js';
export type { ErrorCode } from './errors/index.js';
export type { Synchronous } from './backends/index.js';
export { ConfigError } from './config/index.js';
export { InvalidScheduleError, ScheduleNotFoundError } from './schedules/index.js';
export type { ScheduleEvent, ScheduleInfo, ScheduleOptions, ScheduleView, UpsertedSchedule } from './schedules/index.js';
export type { WorkerSchedule } from './worker/index.js';
export { InvalidQueueError, QueueEvent } from './queues/index.js';
export type { QueueActionOptions, QueueChange, QueueControl, QueueInfo } from './queues/index.js';
export type { RateLimit } from './worker/index.js';
export type { QueueOptions } from './conductor/index.js';
export type {
  BulkOutcome,
  BulkReport,
  JobSelection,
  JobsFilter,
  JobsPurgedData,
  PurgeOptions,
  PurgeReport,
  RetentionAge,
  RetentionOption,
  RetentionRun,
} from './conductor/index.js';
export { defaultRetryPolicy, hangfireDelayMs, JobEventTypes, JobStatuses, replay } from './job/index.js';
export type { ContinuationOn, JobEvent, JobEventType, JobRef, JobState, JobStatus, JobView } from './job/index.js';
export type { RecordedJobEvent } from './jobStore/index.js';
export { createProducer, EnqueueCommandRejectedError, ProducerError } from './producer/index.js';
export type { Producer, ProducerEnqueueOptions, ProducerOptions } from './producer/index.js';
export { runDashboard } from './dashboard/index.js';
export type { DashboardHandle, DashboardOptions } from './dashboard/index.js';
export { makeThroughputReader, readThroughputHistory, ThroughputKinds } from './projections/throughputQueries.js';
export type {
  ThroughputCounts,
  ThroughputHistory,
  ThroughputKind,
  ThroughputRange,
  ThroughputReader,
  ThroughputSeries,
} from './projections/throughputQueries.js';
export type { MetricsOptions } from './metrics/index.js';
