import type { IsoDate } from './events.js';
import { attemptsLeft, interruptionsLeft } from './transitions.js';
import type { JobView } from './state.js';

/** How a worker's failed attempts are retried. */
export interface RetryPolicy {
  /** Attempts in all, the first included. Default: 10 (Hangfire's). */
  readonly maxAttempts: number;
  /**
   * Delay before the attempt after `attempt` (1-based, the one that failed), in
   * milliseconds; `random` is a draw in [0, 1). Default: `hangfireDelayMs`.
   */
  readonly delayMs: (attempt: number, random: number) => number;
}

/** Hangfire's automatic retry delay: `(n−1)^4 + 15 + random(0..29)·n` seconds, n the failed attempt. */
export const hangfireDelayMs = (attempt: number, random: number): number =>
  ((attempt - 1) ** 4 + 15 + Math.floor(random * 30) * attempt) * 1000;

/** Ten attempts with Hangfire's delays. */
export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 10, delayMs: hangfireDelayMs };

/**
 * The delay before retrying an interrupted attempt (a shutdown, a lost process):
 * short and fixed, since nothing went wrong with the job itself.
 */
export const interruptionRetryDelayMs = 1000;

/**
 * When the next attempt of `view` should run after `attempt` failed, or
 * `undefined` when it must not be retried (not retryable, or no attempts left).
 * An `interrupted` attempt (a shutdown, a lost process) is retried after
 * `interruptionRetryDelayMs` while `interruptionsLeft`, whatever `maxAttempts`
 * says, and then fails the job: one that kills its process every time still ends.
 */
export const planRetry = (
  view: JobView,
  attempt: number,
  options: {
    readonly retryable: boolean;
    readonly now: Date;
    readonly random: number;
    readonly delayMs: RetryPolicy['delayMs'];
    readonly interrupted?: boolean;
  },
): IsoDate | undefined => {
  if (!options.retryable) return undefined;
  if (options.interrupted === true)
    return interruptionsLeft(view) > 0 ? (new Date(options.now.getTime() + interruptionRetryDelayMs).toISOString() as IsoDate) : undefined;
  if (attemptsLeft(view, attempt) <= 0) return undefined;
  const delay = Math.max(0, options.delayMs(attempt, options.random));
  return new Date(options.now.getTime() + delay).toISOString() as IsoDate;
};
