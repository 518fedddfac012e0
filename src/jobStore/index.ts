export { decodeJobEvent, makeJobStore, toRecordedJobEvent, UndecodableEventError } from './jobStore.js';
export type { Causation, JobStore, LoadedJob, RecordedJobEvent, TransitionError } from './jobStore.js';
