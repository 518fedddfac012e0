export { decodeJobEvent, makeJobStore, UndecodableEventError } from './jobStore.js';
export type { Causation, JobStore, LoadedJob, RecordedJobEvent, TransitionError } from './jobStore.js';
