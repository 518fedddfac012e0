import { randomBytes } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import { BrokerUnavailableError, brandClass, ErrorCodes, JobtrailError, StoreUnavailableError } from '../errors/index.js';
import {
  cancel,
  cancelRequestedFor,
  isJobView,
  isoDate,
  requestCancel,
  resetToInitialState,
  type JobEvent,
  type JobState,
  type JobView,
  type TransitionRejected,
} from '../job/index.js';
import { storeRead, viewOf } from '../jobStore/index.js';
import { maxConflictRounds, publishAttempt, type ConductorDeps } from './dispatch.js';

/** Who asked for a manual action, for the record. */
export interface ActionOptions {
  readonly by?: string;
  readonly reason?: string;
}

/** A retry or cancel the state machine refused (e.g. cancelling a completed job). */
export class TransitionRejectedError extends JobtrailError {
  static {
    brandClass(this, 'TransitionRejectedError');
  }
  constructor(readonly rejection: TransitionRejected) {
    super(ErrorCodes.TransitionRejected, rejection.message);
    this.name = 'TransitionRejectedError';
  }
}

/** The job does not exist. */
export class JobNotFoundError extends JobtrailError {
  static {
    brandClass(this, 'JobNotFoundError');
  }
  constructor(readonly jobId: string) {
    super(ErrorCodes.JobNotFound, `job "${jobId}" does not exist (no stream job-${jobId})`);
    this.name = 'JobNotFoundError';
  }
}

type Decide = (s: JobState) => E.Either<TransitionRejected, readonly JobEvent[]>;

/**
 * Appends what `decide` makes of the job's current state, with who asked.
 * Another process moving the job in between is a conflict: read again and
 * decide again, at most `maxConflictRounds` times (a job that keeps moving
 * under a person's click is refused, not fought for forever).
 */
const act = async (deps: ConductorDeps, jobId: string, decide: Decide, by: string | undefined): Promise<JobView> => {
  const causation = { correlationId: jobId, causationId: `manual:${randomBytes(4).toString('hex')}`, ...(by !== undefined ? { by } : {}) };
  for (let round = 1; round <= maxConflictRounds; round++) {
    const loaded = await storeRead(deps.jobs.load(jobId));
    if (!isJobView(loaded.state)) throw new JobNotFoundError(jobId);
    const r = await deps.jobs.transition(loaded, decide, causation)();
    if (E.isRight(r)) return viewOf(r.right);
    if (r.left._tag === 'TransitionRejected') throw new TransitionRejectedError(r.left);
    if (r.left._tag === 'StoreUnavailable') throw new StoreUnavailableError(r.left.message);
  }
  throw new StoreUnavailableError(
    `job "${jobId}" kept moving while it was being changed (${maxConflictRounds} conflicts in a row); try again`,
  );
};

/** `resetToInitialState` (manual): a fresh budget of attempts, then the next attempt dispatched. */
export const retryJob = async (deps: ConductorDeps, jobId: string, options: ActionOptions = {}): Promise<JobView> => {
  const view = await act(
    deps,
    jobId,
    (s) => resetToInitialState(s, { at: isoDate(deps.now()), reason: 'manual', ...(options.by !== undefined ? { by: options.by } : {}) }),
    options.by,
  );
  const published = await publishAttempt(deps, view, view.attempts + 1);
  if (E.isLeft(published))
    throw new BrokerUnavailableError(
      `job "${jobId}" was reset but its dispatch could not be published (${published.left.message}); it will be dispatched by recovery or a new retry`,
    );
  return view;
};

/**
 * Cancels a job. A waiting (`initial`, `awaiting`) or `errored` one: `JobCancelled`. A running one
 * (`in_progress`): `JobCancelRequested` for its attempt, and the process running it is told to abort the
 * action's signal (docs/architecture.md#cancelling-a-running-attempt); the view returned is still
 * `in_progress`, with `cancelRequested`. Asking again while that attempt runs records nothing and returns
 * the view with the first request.
 */
export const cancelJob = async (deps: ConductorDeps, jobId: string, options: ActionOptions = {}): Promise<JobView> => {
  let already: JobView | undefined;
  const view = await act(
    deps,
    jobId,
    (s) => {
      already = undefined;
      const input = {
        at: isoDate(deps.now()),
        ...(options.reason !== undefined ? { reason: options.reason } : {}),
        ...(options.by !== undefined ? { by: options.by } : {}),
      };
      if (!isJobView(s) || s.status !== 'in_progress') return cancel(s, input);
      if (cancelRequestedFor(s, s.attempts)) {
        already = s;
        return E.right([]);
      }
      return requestCancel(s, { ...input, attempt: s.attempts });
    },
    options.by,
  );
  if (already !== undefined) return already;
  if (view.status === 'cancelled') deps.observer?.cancelled?.(view);
  const request = view.status === 'in_progress' ? view.cancelRequested : undefined;
  if (request !== undefined) {
    // This process runs it: abort at once. Others follow the store (watchCancelRequests).
    deps.cancels?.abort(view.jobId, request.attempt, 'local');
  }
  return view;
};
