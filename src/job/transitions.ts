import * as E from 'fp-ts/lib/Either.js';
import type {
  ContinuationOn,
  ErrorInfo,
  FinalStatus,
  IsoDate,
  JobCancelled,
  JobActionReturned,
  JobCancelRequested,
  JobPurged,
  JobCompleted,
  JobContinuationAdded,
  JobEnqueued,
  JobErrored,
  JobEvent,
  JobId,
  JobProgressed,
  JobReleased,
  JobReset,
  JobStarted,
  ResetReason,
} from './events.js';
import { evolve, initialJobState, isJobView, type JobState, type JobStatus, type JobView } from './state.js';

/** The transition functions, named after the original design's methods. */
export const Transitions = {
  setToInitialState: 'setToInitialState',
  setToInProgress: 'setToInProgress',
  recordProgress: 'recordProgress',
  setToCompleted: 'setToCompleted',
  setToErrored: 'setToErrored',
  resetToInitialState: 'resetToInitialState',
  cancel: 'cancel',
  requestCancel: 'requestCancel',
  setToCancelled: 'setToCancelled',
  addContinuation: 'addContinuation',
  release: 'release',
  purge: 'purge',
  recordActionReturned: 'recordActionReturned',
} as const;
export type Transition = (typeof Transitions)[keyof typeof Transitions];

/** A transition the state machine refuses, with a reason a person can read. */
export interface TransitionRejected {
  readonly _tag: 'TransitionRejected';
  readonly transition: Transition;
  /** `none` when the job has no stream. */
  readonly status: JobStatus | 'none';
  readonly jobId?: string;
  readonly message: string;
}

const reject = (transition: Transition, state: JobState, message: string): E.Either<TransitionRejected, never> =>
  E.left({
    _tag: 'TransitionRejected',
    transition,
    status: state.status,
    ...(isJobView(state) ? { jobId: state.jobId } : {}),
    message,
  });

const describe = (s: JobView): string => {
  if (s.status === 'errored') return s.retryAt !== undefined ? `errored (retry due at ${s.retryAt})` : 'errored (failed for good)';
  if (s.status === 'in_progress')
    return `in_progress (attempt ${s.attempts}${s.cancelRequested !== undefined ? ', cancel requested' : ''})`;
  return s.status;
};

const need = <T extends Transition>(transition: T, state: JobState, verb: string): E.Either<TransitionRejected, JobView> =>
  isJobView(state) ? E.right(state) : reject(transition, state, `cannot ${verb}: the job does not exist (no stream)`);

const one = <A extends JobEvent>(e: A): E.Either<TransitionRejected, readonly [A]> => E.right([e] as const);
/**
 * `E.chain` without fp-ts's `dual` wrapper, which copies its arguments into new
 * arrays on every call: the transitions run for every job (about 2 µs a call there).
 */
const chain =
  <A, B>(f: (a: A) => E.Either<TransitionRejected, B>) =>
  (x: E.Either<TransitionRejected, A>): E.Either<TransitionRejected, B> =>
    E.isLeft(x) ? x : f(x.right);

/** Input of `setToInitialState`: the enqueue. */
export interface EnqueueInput {
  readonly jobId: JobId;
  readonly workerName: string;
  readonly queue: string;
  readonly payload: unknown;
  readonly maxAttempts: JobEnqueued['data']['maxAttempts'];
  readonly enqueuedAt: IsoDate;
  readonly runAt?: IsoDate;
  readonly priority?: number;
  readonly enqueuedBy?: string;
  readonly scheduleId?: string;
  readonly fireTime?: IsoDate;
  /** A continuation: the parents it waits for (1 or more, each once); the job starts `awaiting`. */
  readonly after?: readonly JobId[];
  readonly on?: ContinuationOn;
  /** How many interrupted attempts are retried; absent: `defaultMaxInterruptions`. */
  readonly maxInterruptions?: number;
}

/** Enqueue: only from no stream. Enqueueing an existing id is rejected here; the conductor treats it as "already there". */
export const setToInitialState = (state: JobState, input: EnqueueInput): E.Either<TransitionRejected, readonly [JobEnqueued]> => {
  if (isJobView(state))
    return reject('setToInitialState', state, `cannot enqueue job "${state.jobId}": it exists already (${describe(state)})`);
  const data: JobEnqueued['data'] = {
    jobId: input.jobId,
    workerName: input.workerName,
    queue: input.queue,
    payload: input.payload,
    maxAttempts: input.maxAttempts,
    enqueuedAt: input.enqueuedAt,
    ...(input.runAt !== undefined ? { runAt: input.runAt } : {}),
    ...(input.priority !== undefined ? { priority: input.priority } : {}),
    ...(input.enqueuedBy !== undefined ? { enqueuedBy: input.enqueuedBy } : {}),
    ...(input.scheduleId !== undefined ? { scheduleId: input.scheduleId } : {}),
    ...(input.fireTime !== undefined ? { fireTime: input.fireTime } : {}),
    ...(input.after !== undefined ? { after: [...input.after] } : {}),
    ...(input.on !== undefined ? { on: input.on } : {}),
    ...(input.maxInterruptions !== undefined
      ? { maxInterruptions: input.maxInterruptions as NonNullable<JobEnqueued['data']['maxInterruptions']> }
      : {}),
  };
  if (input.maxInterruptions !== undefined && !(Number.isInteger(input.maxInterruptions) && input.maxInterruptions >= 0))
    return reject(
      'setToInitialState',
      state,
      `cannot enqueue job "${input.jobId}": maxInterruptions must be a whole number ≥ 0, got ${input.maxInterruptions}`,
    );
  if (input.on !== undefined && input.after === undefined)
    return reject('setToInitialState', state, `cannot enqueue job "${input.jobId}": "on" is for a continuation, and it has no "after"`);
  if (input.after !== undefined && (input.after.length === 0 || new Set(input.after).size !== input.after.length))
    return reject('setToInitialState', state, `cannot enqueue job "${input.jobId}": "after" must name one or more parents, each once`);
  if (input.after?.includes(input.jobId)) return reject('setToInitialState', state, `cannot enqueue job "${input.jobId}" after itself`);
  return one({ type: 'JobEnqueued', data });
};

/** Start: only from `initial`; the attempt is the previous one plus one. */
export const setToInProgress = (
  state: JobState,
  input: { readonly workerId: string; readonly backgroundJobId: string; readonly startedAt: IsoDate },
): E.Either<TransitionRejected, readonly [JobStarted]> =>
  chain((s: JobView) =>
    s.status !== 'initial'
      ? reject('setToInProgress', s, `cannot start job "${s.jobId}": it is ${describe(s)}, not initial`)
      : one<JobStarted>({
          type: 'JobStarted',
          data: {
            attempt: (s.attempts + 1) as JobStarted['data']['attempt'],
            workerId: input.workerId,
            backgroundJobId: input.backgroundJobId,
            startedAt: input.startedAt,
          },
        }),
  )(need('setToInProgress', state, 'start the job'));

const inAttempt = (transition: Transition, s: JobView, attempt: number, verb: string) =>
  s.status !== 'in_progress'
    ? reject(transition, s, `cannot ${verb} job "${s.jobId}" attempt ${attempt}: it is ${describe(s)}, not in_progress`)
    : s.attempts !== attempt
      ? reject(transition, s, `cannot ${verb} job "${s.jobId}" attempt ${attempt}: attempt ${s.attempts} is the one in progress`)
      : E.right(s);

/** Progress report of the attempt in progress. */
export const recordProgress = (
  state: JobState,
  input: { readonly attempt: number; readonly at: IsoDate; readonly percent?: number; readonly message?: string },
): E.Either<TransitionRejected, readonly [JobProgressed]> =>
  chain((s: JobView) =>
    chain(() =>
      input.percent !== undefined && !(input.percent >= 0 && input.percent <= 100)
        ? reject(
            'recordProgress',
            s,
            `cannot record progress of job "${s.jobId}" attempt ${input.attempt}: percent ${input.percent} is not between 0 and 100`,
          )
        : one<JobProgressed>({
            type: 'JobProgressed',
            data: {
              attempt: input.attempt as JobProgressed['data']['attempt'],
              at: input.at,
              ...(input.percent !== undefined ? { percent: input.percent } : {}),
              ...(input.message !== undefined ? { message: input.message } : {}),
            },
          }),
    )(inAttempt('recordProgress', s, input.attempt, 'record progress of')),
  )(need('recordProgress', state, 'record progress'));

/** Complete: only the attempt in progress. */
export const setToCompleted = (
  state: JobState,
  input: { readonly attempt: number; readonly completedAt: IsoDate; readonly durationMs: number; readonly result?: unknown },
): E.Either<TransitionRejected, readonly [JobCompleted]> =>
  chain((s: JobView) =>
    chain(() =>
      one<JobCompleted>({
        type: 'JobCompleted',
        data: {
          attempt: input.attempt as JobCompleted['data']['attempt'],
          completedAt: input.completedAt,
          durationMs: input.durationMs,
          ...(input.result !== undefined ? { result: input.result } : {}),
        },
      }),
    )(inAttempt('setToCompleted', s, input.attempt, 'complete')),
  )(need('setToCompleted', state, 'complete the job'));

/** How many interrupted attempts a job retries when its enqueue did not say: ten deploys in a row do not fail a job. */
export const defaultMaxInterruptions = 10;

/**
 * Attempts left in the current budget after `attempt` fails (a manual reset
 * grants a fresh budget). Interrupted attempts (`s.interruptions`, those before
 * `attempt`) are not counted.
 */
export const attemptsLeft = (s: JobView, attempt: number): number => s.maxAttempts - (attempt - s.attemptBase - (s.interruptions ?? 0));

/** Interrupted attempts that may still be retried, before the one now ending (a manual reset grants a fresh budget). */
export const interruptionsLeft = (s: JobView): number => (s.maxInterruptions ?? defaultMaxInterruptions) - (s.interruptions ?? 0);

/**
 * Error: the attempt in progress failed, or (from `initial`) the job cannot
 * start at all, in which case no retry may be scheduled. A retry may only be
 * scheduled while attempts remain; for an `interrupted` attempt (a shutdown, a
 * lost process), while interruptions remain instead.
 */
export const setToErrored = (
  state: JobState,
  input: {
    readonly attempt: number;
    readonly erroredAt: IsoDate;
    readonly error: ErrorInfo;
    readonly durationMs?: number;
    readonly retryAt?: IsoDate;
    /** The attempt was cut short by a shutdown or its process went away: counted apart from `maxAttempts`. */
    readonly interrupted?: boolean;
    /** The attempt timed out and its action has not returned yet ("timed out, still running"). */
    readonly actionRunning?: boolean;
  },
): E.Either<TransitionRejected, readonly [JobErrored]> =>
  chain((s: JobView) => {
    if (s.status === 'initial') {
      if (input.attempt !== s.attempts + 1)
        return reject(
          'setToErrored',
          s,
          `cannot record attempt ${input.attempt} of job "${s.jobId}" as errored: it is initial and its next attempt is ${s.attempts + 1}`,
        );
      if (input.retryAt !== undefined)
        return reject(
          'setToErrored',
          s,
          `cannot schedule a retry of job "${s.jobId}": it is initial and could not start, so it is not retried`,
        );
      if (input.interrupted === true)
        return reject(
          'setToErrored',
          s,
          `cannot record attempt ${input.attempt} of job "${s.jobId}" as interrupted: it is initial, so the attempt never ran`,
        );
      if (input.actionRunning === true)
        return reject(
          'setToErrored',
          s,
          `cannot record attempt ${input.attempt} of job "${s.jobId}" with its action still running: it is initial, so the attempt never ran`,
        );
    } else {
      const ok = inAttempt('setToErrored', s, input.attempt, 'fail');
      if (E.isLeft(ok)) return ok;
      if (cancelRequestedFor(s, input.attempt))
        return reject(
          'setToErrored',
          s,
          `cannot record attempt ${input.attempt} of job "${s.jobId}" as errored: its cancel was requested at ${s.cancelRequested?.at}, so it ends as cancelled (setToCancelled)`,
        );
    }
    if (input.retryAt !== undefined && input.interrupted === true && interruptionsLeft(s) <= 0)
      return reject(
        'setToErrored',
        s,
        `cannot schedule a retry of job "${s.jobId}": it was interrupted ${(s.interruptions ?? 0) + 1} times, more than the ${s.maxInterruptions ?? defaultMaxInterruptions} retried`,
      );
    if (input.retryAt !== undefined && input.interrupted !== true && attemptsLeft(s, input.attempt) <= 0)
      return reject(
        'setToErrored',
        s,
        `cannot schedule a retry of job "${s.jobId}": attempt ${input.attempt} was the last of ${s.maxAttempts}`,
      );
    return one<JobErrored>({
      type: 'JobErrored',
      data: {
        attempt: input.attempt as JobErrored['data']['attempt'],
        erroredAt: input.erroredAt,
        error: input.error,
        ...(input.durationMs !== undefined ? { durationMs: input.durationMs } : {}),
        ...(input.retryAt !== undefined ? { retryAt: input.retryAt } : {}),
        ...(input.interrupted === true ? { interrupted: true } : {}),
        ...(input.actionRunning === true ? { actionRunning: true } : {}),
      },
    });
  })(need('setToErrored', state, 'fail the job'));

/**
 * The action of attempt `attempt`, which timed out while it ran on (`actionsRunning`), has returned: from any
 * status, since the job goes its own way meanwhile (a retry, a cancel, a manual retry). Only for an attempt the
 * view says is still running, once.
 */
export const recordActionReturned = (
  state: JobState,
  input: { readonly attempt: number; readonly at: IsoDate },
): E.Either<TransitionRejected, readonly [JobActionReturned]> =>
  chain((s: JobView) =>
    s.actionsRunning?.some((a) => a.attempt === input.attempt) === true
      ? one<JobActionReturned>({
          type: 'JobActionReturned',
          data: { attempt: input.attempt as JobActionReturned['data']['attempt'], at: input.at },
        })
      : reject(
          'recordActionReturned',
          s,
          `cannot record that the action of job "${s.jobId}" attempt ${input.attempt} returned: no timed-out attempt ${input.attempt} is still running`,
        ),
  )(need('recordActionReturned', state, 'record the return of an action'));

/**
 * Back to `initial`. `retry`: an errored job whose retry is due (`at` ≥
 * `retryAt`). `recovered`: an errored job with a retry scheduled, taken up
 * early by recovery. `manual`: an errored, completed or cancelled job, with a
 * fresh budget of attempts.
 */
export const resetToInitialState = (
  state: JobState,
  input: { readonly at: IsoDate; readonly reason: ResetReason; readonly by?: string },
): E.Either<TransitionRejected, readonly [JobReset]> =>
  chain((s: JobView) => {
    const event = one<JobReset>({
      type: 'JobReset',
      data: { at: input.at, reason: input.reason, ...(input.by !== undefined ? { by: input.by } : {}) },
    });
    if (input.reason === 'manual')
      return s.status === 'errored' || s.status === 'completed' || s.status === 'cancelled'
        ? event
        : reject(
            'resetToInitialState',
            s,
            `cannot retry job "${s.jobId}": it is ${describe(s)}; only errored, completed or cancelled jobs can be retried`,
          );
    if (s.status !== 'errored' || s.retryAt === undefined)
      return reject('resetToInitialState', s, `cannot reset job "${s.jobId}" for a scheduled retry: it is ${describe(s)}`);
    if (input.reason === 'retry' && Date.parse(input.at) < Date.parse(s.retryAt))
      return reject(
        'resetToInitialState',
        s,
        `cannot reset job "${s.jobId}" for its retry at ${input.at}: the retry is due at ${s.retryAt}`,
      );
    return event;
  })(need('resetToInitialState', state, 'reset the job'));

/**
 * Cancel: a job that is waiting (`initial`, `awaiting`) or `errored`. A running attempt is not ended by an
 * event: its cancel is requested (`requestCancel`, `JobCancelRequested`), its process aborts the action, and
 * its end is recorded by `setToCancelled`. The engine's `cancel` picks between the two.
 */
export const cancel = (
  state: JobState,
  input: { readonly at: IsoDate; readonly reason?: string; readonly by?: string },
): E.Either<TransitionRejected, readonly [JobCancelled]> =>
  chain((s: JobView) =>
    s.status === 'initial' || s.status === 'awaiting' || s.status === 'errored'
      ? one<JobCancelled>({
          type: 'JobCancelled',
          data: {
            at: input.at,
            ...(input.reason !== undefined ? { reason: input.reason } : {}),
            ...(input.by !== undefined ? { by: input.by } : {}),
          },
        })
      : reject(
          'cancel',
          s,
          `cannot cancel job "${s.jobId}": it is ${describe(s)}; only initial, awaiting or errored jobs can be cancelled`,
        ),
  )(need('cancel', state, 'cancel the job'));

/** Whether the cancel of `attempt` was requested, and that attempt is the one running. */
export const cancelRequestedFor = (s: JobState, attempt: number): boolean =>
  isJobView(s) && s.status === 'in_progress' && s.attempts === attempt && s.cancelRequested?.attempt === attempt;

/** Asks for the cancel of the running attempt `attempt`: once per attempt. */
export const requestCancel = (
  state: JobState,
  input: { readonly attempt: number; readonly at: IsoDate; readonly reason?: string; readonly by?: string },
): E.Either<TransitionRejected, readonly [JobCancelRequested]> =>
  chain((s: JobView) =>
    chain(() =>
      s.cancelRequested !== undefined
        ? reject(
            'requestCancel',
            s,
            `cannot cancel job "${s.jobId}" attempt ${input.attempt}: its cancel was requested already at ${s.cancelRequested.at}${s.cancelRequested.by !== undefined ? ` by ${s.cancelRequested.by}` : ''}`,
          )
        : one<JobCancelRequested>({
            type: 'JobCancelRequested',
            data: {
              attempt: input.attempt as JobCancelRequested['data']['attempt'],
              at: input.at,
              ...(input.reason !== undefined ? { reason: input.reason } : {}),
              ...(input.by !== undefined ? { by: input.by } : {}),
            },
          }),
    )(inAttempt('requestCancel', s, input.attempt, 'cancel')),
  )(need('requestCancel', state, 'cancel the job'));

/**
 * The end of a running attempt whose cancel was requested: `JobCancelled`, with the request's reason and
 * who asked, whatever the action did but return a result (that is `setToCompleted`). Never retried.
 */
export const setToCancelled = (
  state: JobState,
  input: { readonly attempt: number; readonly at: IsoDate },
): E.Either<TransitionRejected, readonly [JobCancelled]> =>
  chain((s: JobView) =>
    chain(() => {
      const request = s.cancelRequested;
      if (request === undefined || request.attempt !== input.attempt)
        return reject(
          'setToCancelled',
          s,
          `cannot record attempt ${input.attempt} of job "${s.jobId}" as cancelled: no cancel of it was requested`,
        );
      return one<JobCancelled>({
        type: 'JobCancelled',
        data: {
          at: input.at,
          attempt: input.attempt as JobCancelRequested['data']['attempt'],
          ...(request.reason !== undefined ? { reason: request.reason } : {}),
          ...(request.by !== undefined ? { by: request.by } : {}),
        },
      });
    })(inAttempt('setToCancelled', s, input.attempt, 'cancel')),
  )(need('setToCancelled', state, 'cancel the job'));

/**
 * Records in a parent's stream that `childJobId` waits for it: from any
 * status (a parent that is final already keeps the link for the record; its
 * enqueuer then evaluates the child itself). The same child once.
 */
export const addContinuation = (
  state: JobState,
  input: { readonly childJobId: JobId; readonly at: IsoDate },
): E.Either<TransitionRejected, readonly [JobContinuationAdded]> =>
  chain((s: JobView) =>
    input.childJobId === s.jobId
      ? reject('addContinuation', s, `cannot make job "${s.jobId}" a continuation of itself`)
      : s.children?.includes(input.childJobId)
        ? reject('addContinuation', s, `cannot add continuation "${input.childJobId}" to job "${s.jobId}": it is there already`)
        : one<JobContinuationAdded>({ type: 'JobContinuationAdded', data: { childJobId: input.childJobId, at: input.at } }),
  )(need('addContinuation', state, 'add a continuation'));

/** Whether a parent that ended as `status` lets a continuation with `on` run. */
export const satisfies = (on: ContinuationOn, status: FinalStatus): boolean => on === 'finished' || status === 'completed';

/**
 * Release: an `awaiting` continuation goes to `initial`. `parents` names each
 * of its parents once, each in a final status that satisfies its `on`.
 */
export const release = (
  state: JobState,
  input: { readonly at: IsoDate; readonly parents: readonly { readonly jobId: JobId; readonly status: FinalStatus }[] },
): E.Either<TransitionRejected, readonly [JobReleased]> =>
  chain((s: JobView) => {
    if (s.status !== 'awaiting') return reject('release', s, `cannot release job "${s.jobId}": it is ${describe(s)}, not awaiting`);
    const after = s.after ?? [];
    const named = input.parents.map((p) => p.jobId);
    if (named.length !== after.length || new Set(named).size !== named.length || !named.every((id) => after.includes(id)))
      return reject(
        'release',
        s,
        `cannot release job "${s.jobId}": the release names parents ${named.join(', ') || '(none)'}, and it waits for ${after.join(', ')}`,
      );
    const on = s.on ?? 'completed';
    const unsatisfied = input.parents.find((p) => !satisfies(on, p.status));
    if (unsatisfied !== undefined)
      return reject(
        'release',
        s,
        `cannot release job "${s.jobId}": parent "${unsatisfied.jobId}" is ${unsatisfied.status}, and it runs only when every parent completed`,
      );
    return one<JobReleased>({
      type: 'JobReleased',
      data: { at: input.at, parents: input.parents.map((p) => ({ jobId: p.jobId, status: p.status })) },
    });
  })(need('release', state, 'release the job'));

/**
 * Purge (docs/retention.md): a final job (`completed`, `cancelled`, `errored` with no retry) is marked gone; its
 * stream is deleted next. Whether continuations still wait for it is the conductor's check (it needs their streams).
 */
export const purge = (
  state: JobState,
  input: { readonly at: IsoDate; readonly reason?: string; readonly by?: string },
): E.Either<TransitionRejected, readonly [JobPurged]> =>
  chain((s: JobView) =>
    s.status === 'completed' || s.status === 'cancelled' || (s.status === 'errored' && s.retryAt === undefined)
      ? one<JobPurged>({
          type: 'JobPurged',
          data: {
            at: input.at,
            ...(input.reason !== undefined ? { reason: input.reason } : {}),
            ...(input.by !== undefined ? { by: input.by } : {}),
          },
        })
      : reject(
          'purge',
          s,
          `cannot purge job "${s.jobId}": it is ${describe(s)}; only completed, cancelled or failed-for-good jobs can be purged`,
        ),
  )(need('purge', state, 'purge the job'));

/** What the transition that produced `event` is; used to check histories. */
const transitionOf = (state: JobState, event: JobEvent): E.Either<TransitionRejected, readonly JobEvent[]> => {
  switch (event.type) {
    case 'JobEnqueued':
      return setToInitialState(state, event.data);
    case 'JobStarted': {
      const r = setToInProgress(state, event.data);
      return E.isRight(r) && isJobView(state) && r.right[0].data.attempt !== event.data.attempt
        ? reject(
            'setToInProgress',
            state,
            `cannot start job "${state.jobId}" as attempt ${event.data.attempt}: it is initial and its next attempt is ${r.right[0].data.attempt}`,
          )
        : r;
    }
    case 'JobProgressed':
      return recordProgress(state, event.data);
    case 'JobCompleted':
      return setToCompleted(state, event.data);
    case 'JobErrored':
      return setToErrored(state, event.data);
    case 'JobReset':
      return resetToInitialState(state, event.data);
    case 'JobCancelled':
      // From a running attempt only as its end after a request; else the cancel of a waiting job, which carries no attempt.
      if (state.status === 'in_progress') return setToCancelled(state, { attempt: event.data.attempt ?? 0, at: event.data.at });
      return event.data.attempt !== undefined
        ? reject('cancel', state, `cannot cancel job attempt ${event.data.attempt}: the job is ${state.status}, not in_progress`)
        : cancel(state, event.data);
    case 'JobCancelRequested':
      return requestCancel(state, event.data);
    case 'JobReleased':
      return release(state, event.data);
    case 'JobContinuationAdded':
      return addContinuation(state, event.data);
    case 'JobPurged':
      return purge(state, event.data);
    case 'JobActionReturned':
      return recordActionReturned(state, event.data);
  }
};

/** A history that breaks the transition table, with the index of the first offending event. */
export interface InvalidHistory {
  readonly _tag: 'InvalidHistory';
  readonly index: number;
  readonly event: JobEvent;
  readonly rejection: TransitionRejected;
  readonly message: string;
}

/** Folds a history, checking every event against the transition table. */
export const replay = (events: readonly JobEvent[]): E.Either<InvalidHistory, JobState> => {
  let state: JobState = initialJobState;
  for (const [index, event] of events.entries()) {
    const r = transitionOf(state, event);
    if (E.isLeft(r))
      return E.left({
        _tag: 'InvalidHistory',
        index,
        event,
        rejection: r.left,
        message: `event ${index} (${event.type}) is not a valid transition: ${r.left.message}`,
      });
    state = evolve(state, event);
  }
  return E.right(state);
};
