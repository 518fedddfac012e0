import * as E from 'fp-ts/lib/Either.js';
import {
  isoDate,
  resetToInitialState,
  setToErrored,
  setToInitialState,
  setToInProgress,
  type ErrorInfo,
  type JobEvent,
  type JobId,
  type JobState,
  type JobView,
  type PositiveInt,
  type TransitionRejected,
} from '../job/index.js';
import { viewOf } from '../jobStore/index.js';
import { executeAttempt, type Worker } from '../worker/index.js';
import { makeMemoryJobStore } from './memoryJobStore.js';
import type { Logger } from '../log/index.js';

export interface RunActionOptions {
  /** `ctx.jobId`. Default: `test-job`. */
  readonly jobId?: string;
  /** `ctx.attempt` (1-based): earlier attempts are recorded as failed before this one runs. Default: 1. */
  readonly attempt?: number;
  /** Abort it to stop the action as a shutdown does: the run ends `errored` with `Interrupted`. */
  readonly signal?: AbortSignal;
  /** The clock of the recorded times. Default: the system clock. */
  readonly now?: () => Date;
  /** Random draws in [0, 1) for the worker's retry delay. Default: `Math.random`. */
  readonly random?: () => number;
  /** `ctx.log`: a pino logger (bound to `jobId`, `attempt` and `worker`, as the engine binds it). Default: silent. */
  readonly logger?: Logger;
}

/** A progress report the action made, as `JobProgressed` records it. */
export interface RecordedProgress {
  readonly percent?: number;
  readonly message?: string;
  readonly at: string;
}

/** How `runAction`'s attempt ended, as the engine would have recorded it. */
export type ActionRun<R> =
  | {
      readonly status: 'completed';
      /** What the action resolved with, as recorded (through JSON). */
      readonly result: R | undefined;
      readonly progress: readonly RecordedProgress[];
      /** The job's events, as the engine would have appended them. */
      readonly events: readonly JobEvent[];
      readonly job: JobView<R>;
    }
  | {
      readonly status: 'errored';
      /** What the action threw (`Timeout`, `Interrupted`, `InvalidPayload`: the engine's own), as recorded. */
      readonly error: ErrorInfo;
      /** When the engine would try again; `undefined`: failed for good (not retryable, or no attempt left). */
      readonly retryAt: string | undefined;
      readonly progress: readonly RecordedProgress[];
      readonly events: readonly JobEvent[];
      readonly job: JobView<R>;
    };

const withoutAttempt = ({ attempt: _, ...progress }: RecordedProgress & { readonly attempt: number }): RecordedProgress => progress;

/**
 * Runs one attempt of `worker`'s action with a real `JobContext` and no
 * store or broker, as the engine runs it: the payload is checked by the
 * worker's codec, `ctx.progress` is recorded, `ctx.signal` aborts on the
 * worker's `timeoutMs` or on `options.signal`, and the end is decided by the
 * worker's `isRetryable` and `retryDelay`. For unit tests of workers:
 *
 * ```ts
 * const run = await runAction(sendEmail, { to: 'ada@example.com' });
 * assert.equal(run.status, 'completed');
 * ```
 */
export const runAction = async <P, R>(worker: Worker<P, R>, payload: P, options: RunActionOptions = {}): Promise<ActionRun<R>> => {
  const now = options.now ?? (() => new Date());
  const random = options.random ?? Math.random;
  const jobId = (options.jobId ?? 'test-job') as JobId;
  const attempt = options.attempt ?? 1;
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`runAction: attempt must be a whole number ≥ 1, got ${attempt}`);
  const jobs = makeMemoryJobStore(now);
  const decided = async (decide: (s: JobState) => E.Either<TransitionRejected, readonly JobEvent[]>): Promise<void> => {
    const r = await jobs.transition(jobs.read(jobId), decide, { correlationId: jobId, causationId: 'runAction' })();
    if (E.isLeft(r)) throw new Error(`runAction: ${r.left.message}`);
  };
  await decided((s) =>
    setToInitialState(s, {
      jobId,
      workerName: worker.name,
      queue: worker.queue,
      payload,
      maxAttempts: Math.max(worker.maxAttempts, attempt) as PositiveInt,
      enqueuedAt: isoDate(now()),
    }),
  );
  // The attempts before this one: each started, failed and was retried.
  for (let n = 1; n < attempt; n++) {
    await decided((s) => setToInProgress(s, { workerId: 'runAction', backgroundJobId: `runAction-${n}`, startedAt: isoDate(now()) }));
    await decided((s) =>
      setToErrored(s, {
        attempt: n,
        erroredAt: isoDate(now()),
        error: { name: 'Error', message: `attempt ${n} (made up by runAction)` },
        retryAt: isoDate(now()),
      }),
    );
    await decided((s) => resetToInitialState(s, { at: isoDate(now()), reason: 'retry' }));
  }
  const loaded = jobs.read(jobId);
  const outcome = await executeAttempt(
    worker as Worker<P>,
    { jobs, now, random, processId: 'runAction', backoff: async () => false },
    {
      job: { ...loaded, state: viewOf(loaded) },
      backgroundJobId: `runAction-${attempt}`,
      signal: options.signal ?? new AbortController().signal,
      ...(options.logger !== undefined ? { log: options.logger.child({ jobId, attempt, worker: worker.name }) } : {}),
    },
  );
  if (outcome._tag !== 'Completed' && outcome._tag !== 'Errored')
    throw new Error(`runAction: the attempt ended as ${outcome._tag}${'reason' in outcome ? `: ${outcome.reason}` : ''}`);
  const events = jobs.events(jobId).map((e) => e.event);
  const progress: RecordedProgress[] = [];
  for (const e of events) if (e.type === 'JobProgressed' && e.data.attempt === attempt) progress.push(withoutAttempt(e.data));
  const job = viewOf(outcome.job) as JobView<R>;
  if (outcome._tag === 'Completed') return { status: 'completed', result: job.result, progress, events, job };
  const { attempt: _, ...error } = job.lastError!;
  return { status: 'errored', error, retryAt: job.retryAt, progress, events, job };
};
