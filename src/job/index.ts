export {
  ContinuationOn,
  FinalStatus,
  maxParents,
  ErrorInfo,
  eventTime,
  IsoDate,
  isoDate,
  JobCancelled,
  JobCancelRequested,
  JobCompleted,
  JobContinuationAdded,
  JobEnqueued,
  JobErrored,
  JobEvent,
  JobEventTypes,
  JobId,
  jobIdPattern,
  jobIdRule,
  queueNamePattern,
  queueNameRule,
  JobProgressed,
  JobPurged,
  JobActionReturned,
  JobReleased,
  JobReset,
  JobStarted,
  PositiveInt,
  ResetReason,
  isJobEventType,
} from './events.js';
export type { JobEventType } from './events.js';
export { endsJob, evolve, fold, initialJobState, isFinal, isJobView, JobStatuses } from './state.js';
export { erroredSplitOf, erroredSplits, inStatus, storedStatusOf } from './erroredSplit.js';
export type { ErroredSplit } from './erroredSplit.js';
export type { JobRef, JobState, JobStatus, JobView } from './state.js';
export {
  addContinuation,
  attemptsLeft,
  defaultMaxInterruptions,
  interruptionsLeft,
  cancel,
  cancelRequestedFor,
  purge,
  recordActionReturned,
  recordProgress,
  requestCancel,
  setToCancelled,
  release,
  replay,
  resetToInitialState,
  setToCompleted,
  setToErrored,
  setToInitialState,
  setToInProgress,
  satisfies,
  Transitions,
} from './transitions.js';
export type { EnqueueInput, InvalidHistory, Transition, TransitionRejected } from './transitions.js';
export { defaultRetryPolicy, hangfireDelayMs, interruptionRetryDelayMs, planRetry } from './retry.js';
export type { RetryPolicy } from './retry.js';
export { jobCategory, jobIdOfStream, jobStreamName, jobStreamPrefix } from './streams.js';
export { decideContinuation } from './continuations.js';
export type { ContinuationVerdict } from './continuations.js';
