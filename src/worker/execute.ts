import * as E from 'fp-ts/lib/Either.js';
import { PathReporter } from 'io-ts/lib/PathReporter.js';
import {
  cancelRequestedFor,
  isoDate,
  isJobView,
  planRetry,
  recordActionReturned,
  recordProgress,
  setToCancelled,
  setToCompleted,
  setToErrored,
  setToInProgress,
  type ErrorInfo,
  type IsoDate,
  type JobEvent,
  type JobState,
  type JobView,
  type TransitionRejected,
} from '../job/index.js';
import type { AppendTooLarge, StoreUnavailable } from '../eventStore/eventStore.js';
import { viewOf, type Causation, type JobStore, type LoadedJob, type TransitionError } from '../jobStore/index.js';
import { EngineErrors, normaliseError } from './failures.js';
import { silentLogger, type Logger } from '../log/index.js';
import type { TraceCarrier } from '../tracing/carrier.js';
import type { JobContext, Worker } from './worker.js';
import type { JobObserver } from '../metrics/observer.js';

/** What `execute` needs from the engine. */
export interface ExecuteDeps {
  readonly jobs: JobStore;
  readonly now: () => Date;
  readonly random: () => number;
  /** `host:pid:random` of this process. */
  readonly processId: string;
  /** Waits before retrying an append the store could not take; resolves false when the engine gives up (forced stop). */
  readonly backoff: (tries: number) => Promise<boolean>;
  /** Told of enqueues, attempts and cancels (the metrics, docs/metrics.md); absent when metrics are off. */
  readonly observer?: JobObserver;
}

/** Why the engine aborted a running action from outside. */
export const AbortReasons = {
  /** The process is shutting down and the grace period is over: recorded as `Interrupted`, retried. */
  shutdown: 'shutdown',
  /** The broker connection that delivered the attempt is gone: nothing is recorded here; whoever gets the redelivery records `WorkerLost`. */
  lost: 'lost',
  /**
   * The job's cancel was requested (`JobCancelRequested`): the action's signal is aborted, and the attempt ends
   * when the action returns, as `JobCancelled` (not retried), or as `JobCompleted` if it still returned a result.
   */
  cancelled: 'cancelled',
} as const;
export type AbortReason = (typeof AbortReasons)[keyof typeof AbortReasons];

/** One attempt to run: the job as read (status `initial`) and the delivery that asked for it. */
export interface AttemptInput {
  readonly job: LoadedJob & { readonly state: JobView };
  /** The broker message id of the dispatch: recorded as `backgroundJobId`. */
  readonly backgroundJobId: string;
  /** Aborted by the engine with an `AbortReason`. */
  readonly signal: AbortSignal;
  /** The delivery's: aborted when the broker gave the delivery up; the attempt is then aborted as `lost`. */
  readonly lost?: AbortSignal;
  /**
   * Called when the action is called, with a promise that resolves when it
   * returns (resolves or throws). That may be after the attempt ended: an
   * action that ignores its aborted signal (a timeout, a shutdown) runs on,
   * and the engine keeps its worker's slot until it returns.
   */
  readonly onAction?: (returned: Promise<void>) => void;
  /**
   * Counts the attempt in with the engine's cancel watch before its start is appended; `abort` aborts the
   * action's signal with `AbortReasons.cancelled`. Returns the unregister, called when the attempt ends.
   */
  readonly watchCancel?: (jobId: string, attempt: number, abort: () => void) => () => void;
  /** The attempt's trace context: recorded in the metadata of its events (docs/tracing.md). */
  readonly trace?: TraceCarrier;
  /** `ctx.log`: lines about this attempt (job id, worker, attempt, trace id bound). Default: silent. */
  readonly log?: Logger;
  /** Calls the action in the attempt's trace context (docs/tracing.md). Default: calls it. */
  readonly inContext?: <T>(action: () => T) => T;
}

/** How the attempt ended, for the conductor to settle the delivery. */
export type AttemptOutcome =
  /** `JobCompleted` recorded. */
  | { readonly _tag: 'Completed'; readonly job: LoadedJob }
  /** `JobCancelled` recorded: its cancel was requested while it ran. Nothing to publish. */
  | { readonly _tag: 'Cancelled'; readonly job: LoadedJob; readonly attempt: number }
  /** `JobErrored` recorded; when `retryAt` is set the next attempt must be published before the ack. */
  | { readonly _tag: 'Errored'; readonly job: LoadedJob; readonly attempt: number; readonly retryAt: IsoDate | undefined }
  /** Someone moved the job before it started: read again, decide again. */
  | { readonly _tag: 'Conflict' }
  /** The store could not record the start: nothing happened; settle the delivery for a later try. */
  | { readonly _tag: 'Unavailable'; readonly error: StoreUnavailable }
  /** Started, but its end could not be recorded here (delivery lost, another process took the attempt over, or the engine gave up): do not ack. */
  | { readonly _tag: 'Abandoned'; readonly attempt: number; readonly reason: string };

const toError = (name: string, message: string): ErrorInfo => ({ name, message });

const causedBy = (input: AttemptInput, causationId: string): Causation => ({
  correlationId: input.job.jobId,
  causationId,
  ...(input.trace !== undefined ? { trace: input.trace } : {}),
});

/** Records that the job cannot start at all (unknown worker, invalid payload): `JobErrored`, no retry. */
export const recordCannotStart = async (
  deps: Pick<ExecuteDeps, 'jobs' | 'now'>,
  job: LoadedJob,
  error: ErrorInfo,
  causationId: string,
): Promise<E.Either<TransitionError, LoadedJob>> => {
  const attempt = isJobView(job.state) ? job.state.attempts + 1 : 1;
  return deps.jobs.transition(job, (s) => setToErrored(s, { attempt, erroredAt: isoDate(deps.now()), error }), {
    correlationId: job.jobId,
    causationId,
  })();
};

/**
 * The `ctx` an action gets. A class for the sake of its `signal` getter: V8 makes an object
 * literal with an accessor a slow dictionary each time the literal is made (once per attempt).
 */
class AttemptContext implements JobContext {
  readonly progress: JobContext['progress'];
  readonly #controls: AttemptControls;
  constructor(
    readonly jobId: string,
    readonly attempt: number,
    controls: AttemptControls,
    readonly log: Logger,
  ) {
    this.progress = controls.progress;
    this.#controls = controls;
  }
  get signal(): AbortSignal {
    return this.#controls.signal();
  }
}

/** What `ctx` asks of its attempt: the signal, made on first use, and the attempt's own `progress` (which uses no `this`). */
interface AttemptControls {
  signal(): AbortSignal;
  progress: JobContext['progress'];
}

type Ended =
  | { readonly kind: 'result'; readonly value: unknown }
  | { readonly kind: 'thrown'; readonly error: unknown }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'aborted'; readonly reason: AbortReason }
  /** The engine failed the attempt after the action returned (its result could not be recorded). */
  | { readonly kind: 'failed'; readonly error: ErrorInfo; readonly retryable: boolean };

/**
 * The original design's `Execute`, implemented once: decodes the payload,
 * records `JobStarted` at the revision read, runs `action`, and records
 * `JobCompleted` or `JobErrored` (with the retry plan). Never throws for what
 * the action does.
 */
export const executeAttempt = async <P>(worker: Worker<P>, deps: ExecuteDeps, input: AttemptInput): Promise<AttemptOutcome> => {
  const view = input.job.state;
  const decoded = worker.payload.decode(view.payload);
  if (E.isLeft(decoded)) {
    const r = await recordCannotStart(
      deps,
      input.job,
      toError(
        EngineErrors.InvalidPayload,
        `the payload does not match worker "${worker.name}": ${PathReporter.report(decoded).join('; ')}`,
      ),
      input.backgroundJobId,
    );
    if (E.isRight(r)) return { _tag: 'Errored', job: r.right, attempt: view.attempts + 1, retryAt: undefined };
    return r.left._tag === 'StoreUnavailable' ? { _tag: 'Unavailable', error: r.left } : { _tag: 'Conflict' };
  }

  // Known to the cancel watch before it starts: a request for it can only be appended after its JobStarted.
  let cancelled = false;
  let onCancel = (): void => void (cancelled = true);
  const unwatch = input.watchCancel?.(input.job.jobId, view.attempts + 1, () => onCancel());
  try {
    const started = await deps.jobs.transition(
      input.job,
      (s) => setToInProgress(s, { workerId: deps.processId, backgroundJobId: input.backgroundJobId, startedAt: isoDate(deps.now()) }),
      causedBy(input, input.backgroundJobId),
    )();
    if (E.isLeft(started))
      return started.left._tag === 'StoreUnavailable' ? { _tag: 'Unavailable', error: started.left } : { _tag: 'Conflict' };
    const observed = deps.observer?.attemptStarted?.(viewOf(started.right));
    const running = runStarted(worker, deps, input, started.right, decoded.right, {
      cancelled: () => cancelled,
      onCancel: (f) => (onCancel = f),
    });
    if (observed !== undefined) void running.then(observed, () => observed(undefined));
    return await running;
  } finally {
    unwatch?.();
  }
};

/** How a started attempt learns that its cancel was requested: already (`cancelled`), or later (`onCancel`). */
interface CancelHook {
  cancelled(): boolean;
  onCancel(abort: () => void): void;
}

const runStarted = async <P>(
  worker: Worker<P>,
  deps: ExecuteDeps,
  input: AttemptInput,
  startedJob: LoadedJob,
  payload: P,
  cancelHook: CancelHook,
): Promise<AttemptOutcome> => {
  const view = input.job.state;
  const recorder = makeRecorder(deps, startedJob, input, () => controls.cancel());
  const attempt = recorder.attempt;
  const startedAt = deps.now();

  // How the attempt ends: the first of the action settling, its timeout, the engine's abort
  // (shutdown) and the delivery being lost. The action's own signal is made only when it
  // reads `ctx.signal` (most no-op-like actions never do): an AbortController per attempt
  // costs more than the rest of a short attempt's bookkeeping.
  let end!: (ended: Ended) => void;
  const ending = new Promise<Ended>((resolve) => (end = resolve));
  let stoppedWith: string | undefined;
  let controller: AbortController | undefined;
  // The job's cancel was requested: the signal is aborted, but the attempt ends only when the action returns.
  let cancelled = false;
  const controls = {
    cancel(): void {
      if (cancelled || stoppedWith !== undefined) return;
      cancelled = true;
      controller?.abort(AbortReasons.cancelled);
    },
    stop(reason: string, ended: Ended | undefined): void {
      if (stoppedWith !== undefined) return;
      stoppedWith = reason;
      controller?.abort(reason);
      if (ended !== undefined) end(ended);
    },
    onOuterAbort(): void {
      controls.stop(String(input.signal.reason), {
        kind: 'aborted',
        reason: input.signal.reason === AbortReasons.lost ? 'lost' : 'shutdown',
      });
    },
    onLost(): void {
      controls.stop(AbortReasons.lost, { kind: 'aborted', reason: 'lost' });
    },
    signal(): AbortSignal {
      if (controller === undefined) {
        controller = new AbortController();
        if (stoppedWith !== undefined) controller.abort(stoppedWith);
        else if (cancelled) controller.abort(AbortReasons.cancelled);
      }
      return controller.signal;
    },
    // Uses no `this`: an action may take it out of `ctx` (`{ progress }`) and call it alone.
    async progress(percent?: number, message?: string): Promise<void> {
      if (stoppedWith !== undefined) throw new Error(`attempt ${attempt} of job "${input.job.jobId}" was aborted; progress not recorded`);
      const r = await recorder.record((s) =>
        recordProgress(s, {
          attempt,
          at: isoDate(deps.now()),
          ...(percent !== undefined ? { percent: Math.max(0, Math.min(100, percent)) } : {}),
          ...(message !== undefined ? { message: String(message) } : {}),
        }),
      );
      if (E.isLeft(r)) throw new Error(`progress of job "${input.job.jobId}" not recorded: ${r.left.reason}`);
    },
  };
  const { onOuterAbort, onLost } = controls;
  if (input.signal.aborted) onOuterAbort();
  else if (input.lost?.aborted === true) onLost();
  else {
    input.signal.addEventListener('abort', onOuterAbort, { once: true });
    input.lost?.addEventListener('abort', onLost, { once: true });
  }

  cancelHook.onCancel(() => controls.cancel());
  if (cancelHook.cancelled()) controls.cancel();
  const ctx = new AttemptContext(input.job.jobId, attempt, controls, input.log ?? silentLogger);

  // "Timed out, still running": whether the action has returned, and what to record when it does late.
  let actionSettled = false;
  let lateReturn: (() => Promise<void>) | undefined;
  const timer =
    worker.timeoutMs === undefined ? undefined : setTimeout(() => controls.stop('timeout', { kind: 'timeout' }), worker.timeoutMs);
  if (stoppedWith === undefined) {
    let running: Promise<unknown>;
    try {
      // User code is wrapped once, here: whatever it throws or rejects with is caught.
      running = Promise.resolve(input.inContext ? input.inContext(() => worker.action(payload, ctx)) : worker.action(payload, ctx));
    } catch (error) {
      running = Promise.reject(error);
    }
    const markSettled = (): void => void (actionSettled = true);
    // A late return of a timed-out action is recorded (`JobActionReturned`) before its slot goes.
    input.onAction?.(running.then(markSettled, markSettled).then(() => lateReturn?.()));
    running.then(
      (value) => end({ kind: 'result', value }),
      (error: unknown) => end({ kind: 'thrown', error }),
    );
  }
  let ended = await ending;
  clearTimeout(timer);
  input.signal.removeEventListener('abort', onOuterAbort);
  input.lost?.removeEventListener('abort', onLost);
  // A late result of an action that was timed out or aborted is never recorded; an action
  // still holding its signal after it settled sees it aborted, as before.
  controls.stop('settled', undefined);

  if (ended.kind === 'aborted' && ended.reason === 'lost')
    return { _tag: 'Abandoned', attempt, reason: 'the broker connection that delivered this attempt was lost' };

  const durationMs = Math.max(0, deps.now().getTime() - startedAt.getTime());
  if (ended.kind === 'result') {
    const result = ended.value === undefined ? undefined : toJson(ended.value);
    const r = await recorder.record((s) =>
      setToCompleted(s, { attempt, completedAt: isoDate(deps.now()), durationMs, ...(result !== undefined ? { result } : {}) }),
    );
    if (E.isRight(r)) return { _tag: 'Completed', job: r.right };
    const tooLarge = r.left.tooLarge;
    if (tooLarge === undefined) return { _tag: 'Abandoned', attempt, reason: r.left.reason };
    // The store takes no event that large (EventStoreDB's MaxAppendSize, 1 MiB by default; the
    // embedded store keeps the same limit): running the action again would return as much.
    ended = {
      kind: 'failed',
      error: toError(
        EngineErrors.ResultTooLarge,
        `attempt ${attempt} returned a result of ${tooLarge.size ?? 'over'} bytes as recorded; the store takes at most ${tooLarge.limit} bytes per event. ` +
          'Return a reference (a URL, a key) to the data instead of the data.',
      ),
      retryable: false,
    };
  }

  const [error, retryable] =
    ended.kind === 'timeout'
      ? [toError(EngineErrors.Timeout, `attempt ${attempt} ran past the worker's timeout of ${worker.timeoutMs} ms and was aborted`), true]
      : ended.kind === 'aborted'
        ? [toError(EngineErrors.Interrupted, `attempt ${attempt} was aborted because the process shut down (${deps.processId})`), true]
        : ended.kind === 'failed'
          ? [ended.error, ended.retryable]
          : [normaliseError(ended.error), safeRetryable(worker, ended.error)];
  // A shutdown's abort is counted apart from maxAttempts, and retried promptly.
  const interrupted = ended.kind === 'aborted';
  const retryAt = planRetry(view, attempt, {
    retryable,
    now: deps.now(),
    random: deps.random(),
    delayMs: (n, random) => worker.retryDelay(n, random),
    interrupted,
  });
  // An attempt whose cancel was requested ends cancelled, whatever it threw (read from the stream: a request
  // made since the last append of this attempt is found when that append conflicts and is decided again).
  let endedCancelled = false;
  // A timed-out action that ignores its signal runs on: the record says so until it returns (docs/running.md).
  // One that heeds its aborted signal settles at once: give it that turn of the event loop first.
  if (ended.kind === 'timeout' && !actionSettled) await new Promise((resolve) => setImmediate(resolve));
  const actionRunning = ended.kind === 'timeout' && !actionSettled;
  const r = await recorder.record((s) => {
    endedCancelled = cancelRequestedFor(s, attempt);
    return endedCancelled
      ? setToCancelled(s, { attempt, at: isoDate(deps.now()) })
      : setToErrored(s, {
          attempt,
          erroredAt: isoDate(deps.now()),
          error,
          durationMs,
          interrupted,
          ...(retryAt !== undefined ? { retryAt } : {}),
          ...(actionRunning ? { actionRunning } : {}),
        });
  });
  if (E.isLeft(r)) return { _tag: 'Abandoned', attempt, reason: r.left.reason };
  if (actionRunning && !endedCancelled) {
    // At the revision last seen, reloaded on a conflict (a retry attempt may be appending meanwhile).
    const recordReturn = async (): Promise<void> =>
      void (await recorder.record((s) => recordActionReturned(s, { attempt, at: isoDate(deps.now()) })));
    if (actionSettled) await recordReturn();
    else lateReturn = recordReturn;
  }
  return endedCancelled ? { _tag: 'Cancelled', job: r.right, attempt } : { _tag: 'Errored', job: r.right, attempt, retryAt };
};

type Decide = (s: JobState) => E.Either<TransitionRejected, readonly JobEvent[]>;

/** Why an attempt's append was not recorded; `tooLarge` when the store refused its size. */
interface RecordFailure {
  readonly reason: string;
  readonly tooLarge?: AppendTooLarge;
}

/**
 * The appends of one attempt in progress (progress, then the end). They are
 * serialised, each at the revision the previous one left, so they never race
 * each other; most actions record no progress, and then nothing is chained at
 * all. `record` appends what `decide` returns; retries while the store is
 * unavailable; on a conflict reloads and decides again, since only another
 * process taking the attempt over moves a running job.
 */
const makeRecorder = (deps: ExecuteDeps, started: LoadedJob, input: AttemptInput, onCancelRequested: () => void) => {
  let current = started;
  let chain: Promise<unknown> | undefined;
  const attempt = viewOf(started).attempts;
  const cause = causedBy(input, `${input.backgroundJobId}:${attempt}`);
  const recorder = {
    attempt,
    async append(decide: Decide): Promise<E.Either<RecordFailure, LoadedJob>> {
      for (let tries = 1; ; tries++) {
        const r = await deps.jobs.transition(current, decide, cause)();
        if (E.isRight(r)) {
          current = r.right;
          return E.right(r.right);
        }
        if (r.left._tag === 'WrongExpectedRevision' || r.left._tag === 'TransitionRejected') {
          // A request this process has not heard of yet shows in the stream: abort the action now.
          const reloaded = await deps.jobs.load(current.jobId)();
          if (E.isRight(reloaded) && cancelRequestedFor(reloaded.right.state, attempt)) onCancelRequested();
          if (E.isRight(reloaded) && r.left._tag === 'WrongExpectedRevision') {
            current = reloaded.right;
            continue;
          }
        }
        const err = r.left;
        if (err._tag === 'TransitionRejected') return E.left({ reason: err.message });
        if (err._tag === 'AppendTooLarge') return E.left({ reason: err.message, tooLarge: err });
        if (err._tag === 'StreamDeleted') return E.left({ reason: `the job's stream was deleted: ${err.message}` });
        if (err._tag === 'WrongExpectedRevision') {
          const reloaded = await deps.jobs.load(current.jobId)();
          if (E.isRight(reloaded)) current = reloaded.right;
          continue;
        }
        if (!(await deps.backoff(tries))) return E.left({ reason: `the store stayed unavailable: ${err.message}` });
      }
    },
    record(decide: Decide): Promise<E.Either<RecordFailure, LoadedJob>> {
      const next = chain === undefined ? recorder.append(decide) : chain.then(() => recorder.append(decide));
      chain = next.catch(() => undefined);
      return next;
    },
  };
  return recorder;
};

const safeRetryable = <P>(worker: Worker<P>, error: unknown): boolean => {
  try {
    return worker.isRetryable(error);
  } catch {
    return true;
  }
};

/** An action's result as JSON (what is recorded), or a note when it is not serialisable. */
const toJson = (value: unknown): unknown => {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  } catch (error) {
    return { unserialisableResult: String((error as Error).message) };
  }
};
