export { makeRunningAttempts, makeWorkHandler, publishAttempt } from './dispatch.js';
export type { ConductorDeps, RunningAttempts } from './dispatch.js';
export { enqueueJob, enqueueJobs, EnqueueErrors, EnqueueManyError, EnqueueRejectedError } from './enqueue.js';
export type { Enqueued, EnqueueErrorTag, EnqueueItem, EnqueueOptions, WorkerRef } from './enqueue.js';
export { isWorkerGone, makeWorkerId, recoverJobs } from './recovery.js';
export type { RecoveryReport } from './recovery.js';
export { defaultMaxCommandBytes, EnqueueCommand, makeEnqueueCommandHandler, parseEnqueueCommand } from './enqueueCommands.js';
export type { EnqueueReply } from './enqueueCommands.js';
