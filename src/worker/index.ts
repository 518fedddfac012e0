export { defineWorker, InvalidWorkerError, JsonPayload, validateWorker, Worker } from './worker.js';
export type { JobContext, WorkerOptions, WorkerSchedule } from './worker.js';
export { EngineErrors, NonRetryableError, normaliseError, quote } from './failures.js';
export { makeWorkerRegistry } from './registry.js';
export { loadWorkers } from './loadWorkers.js';
export type { WorkerRegistry } from './registry.js';
export { AbortReasons, executeAttempt, recordCannotStart } from './execute.js';
export type { AbortReason, AttemptInput, AttemptOutcome, ExecuteDeps } from './execute.js';
