import type { EventStore, Subscription } from '../eventStore/index.js';
import { jobIdOfStream, jobStreamPrefix } from '../job/index.js';
import type { Logger } from '../log/index.js';

// Cancelling a running job (docs/architecture.md#cancelling-a-running-attempt). `engine.cancel` on an
// `in_progress` job records `JobCancelRequested` for its attempt. The process running that attempt must
// abort the action's `ctx.signal`: it learns of the request at once when the request was made in that same
// process, and in every case by following the store (the general mechanism; both stores have subscriptions). The attempt's end is then
// recorded by `executeAttempt`, which reads the request from the stream (`setToCancelled`).

/** The attempts running in this process, by job, so that a cancel request aborts the one it names. */
export interface CancelWatch {
  /**
   * Counts attempt `attempt` of `jobId` in, before its `JobStarted` is appended (so that no request for it can
   * come before it is known here); `abort` aborts its action's signal. Returns the unregister, to call when the
   * attempt ends (or did not start).
   */
  register(jobId: string, attempt: number, abort: () => void): () => void;
  /** Aborts attempt `attempt` of `jobId` if it runs here (once); true when it did. */
  abort(jobId: string, attempt: number, via: CancelSource): boolean;
  /** Attempts counted in. */
  readonly size: number;
}

/** How this process learned of a request: its own `cancel`, the store, or the attempt's own append. */
export type CancelSource = 'local' | 'store' | 'append';

export const makeCancelWatch = (log?: Logger): CancelWatch => {
  const running = new Map<string, { readonly attempt: number; readonly abort: () => void; aborted: boolean }>();
  return {
    register(jobId, attempt, abort) {
      const entry = { attempt, abort, aborted: false };
      running.set(jobId, entry);
      return () => {
        // A later attempt of the same job may have replaced it (an action that outlived its timeout).
        if (running.get(jobId) === entry) running.delete(jobId);
      };
    },
    abort(jobId, attempt, via) {
      const entry = running.get(jobId);
      if (entry === undefined || entry.attempt !== attempt || entry.aborted) return false;
      entry.aborted = true;
      log?.info({ jobId, attempt, via }, 'cancel requested: aborting the running action');
      entry.abort();
      return true;
    },
    get size() {
      return running.size;
    },
  };
};

/** The attempt a stored `JobCancelRequested` names, without decoding the whole event. */
const attemptOf = (data: unknown): number | undefined => {
  const attempt = (data as { readonly attempt?: unknown } | null | undefined)?.attempt;
  return typeof attempt === 'number' ? attempt : undefined;
};

/**
 * Follows the store from `after` (the head when the engine started) for `JobCancelRequested` and aborts the
 * attempts it names that run here. Requests made by this same process are aborted when they are made
 * (`skipOwnAppends`: the SQLite store then reads only the other processes' commits).
 */
export const watchCancelRequests = (
  deps: { readonly store: EventStore; readonly log: Logger },
  watch: CancelWatch,
  after: string | undefined,
): Subscription =>
  deps.store.subscribe(
    { streamPrefix: jobStreamPrefix, ...(after !== undefined ? { after } : {}), skipOwnAppends: true, eventTypes: ['JobCancelRequested'] },
    {
      onEvent: (e) => {
        if (e.type !== 'JobCancelRequested' || watch.size === 0) return;
        const jobId = jobIdOfStream(e.streamId);
        const attempt = attemptOf(e.data);
        if (jobId !== undefined && attempt !== undefined) watch.abort(jobId, attempt, 'store');
      },
      onError: (error) => deps.log.error({ err: error.message }, 'stopped following the store for cancel requests'),
    },
  );
