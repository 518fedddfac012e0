export { decodeJobEvent, makeJobStore, toRecordedJobEvent, UndecodableEventError, viewOf } from './jobStore.js';
export type { Causation, JobStore, LoadedJob, RecordedJobEvent, TransitionError } from './jobStore.js';
export { followJob } from './followJob.js';
export type { FollowJobHandlers, JobFollow } from './followJob.js';
export { storeRead } from './storeRead.js';
