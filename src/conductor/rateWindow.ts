import * as t from 'io-ts';
import type { RateLimit } from '../worker/rateLimit.js';

export type { RateLimit };

/** The event type of a grant: some permits taken by one process at one time, each for one attempt. */
export const ratePermitsGrantedType = 'RatePermitsGranted';

/** The attempts a grant is for: the record of who started what under the limit. */
const GrantedAttempt = t.type({ jobId: t.string, attempt: t.number });

/**
 * `RatePermitsGranted`, in stream `ratelimit-worker-<name>` or `ratelimit-queue-<queue>`: `count` permits taken by
 * process `by` at `at`, under the limit `max` per `perMs` that this process holds, for `attempts`.
 */
export const RatePermitsGranted = t.type({
  by: t.string,
  at: t.string,
  count: t.number,
  max: t.number,
  perMs: t.number,
  attempts: t.array(GrantedAttempt),
});
export type RatePermitsGranted = t.TypeOf<typeof RatePermitsGranted>;

/** A grant as a limiter keeps it: its time in ms, its count, who took it, and for which attempts (`jobId/attempt`). */
export interface Grant {
  readonly revision: number;
  readonly atMs: number;
  readonly count: number;
  readonly by: string;
  readonly keys: readonly string[];
}

/** The key of an attempt in a grant. */
export const attemptKey = (jobId: string, attempt: number): string => `${jobId}/${attempt}`;

/**
 * The spacing of permits: `perMs / max`. Permits are slots at least this far apart (a generic cell rate algorithm,
 * GCRA, with no burst), so any window of `perMs` holds at most `max` of them, and the ends of short actions, which
 * follow their starts unevenly, still fit in `max + 1`.
 */
export const slotMs = (limit: RateLimit): number => limit.perMs / limit.max;

/** A grant's last slot: its `count` slots are `atMs`, `atMs + slotMs`, …. */
export const lastSlotOf = (g: Grant, limit: RateLimit): number => g.atMs + (g.count - 1) * slotMs(limit);

/** The earliest slot not granted yet at `nowMs` (the theoretical arrival time): `nowMs` when every grant is past. */
export const nextSlotAt = (grants: readonly Grant[], limit: RateLimit, nowMs: number): number => {
  let next = nowMs;
  for (const g of grants) next = Math.max(next, g.atMs + g.count * slotMs(limit));
  return next;
};

/** How long a grant is kept in mind after its last slot: the window and the guard (a start follows its slot within it). */
const keptMs = (limit: RateLimit, guardMs: number): number => limit.perMs + guardMs;

/**
 * Who holds the permit of an attempt: the newest grant naming it that is still in mind at `nowMs`; `undefined` when
 * none. A grant of another process means that process is about to start the attempt (or died doing so: it lapses).
 */
export const holderOf = (grants: readonly Grant[], key: string, limit: RateLimit, guardMs: number, nowMs: number): Grant | undefined => {
  for (let i = grants.length - 1; i >= 0; i--) {
    const g = grants[i]!;
    if (lastSlotOf(g, limit) > nowMs - keptMs(limit, guardMs) && g.keys.includes(key)) return g;
  }
  return undefined;
};

/** The grants a limiter keeps in mind at `nowMs` (the others can neither hold an attempt nor delay a slot). */
export const liveGrants = (grants: readonly Grant[], limit: RateLimit, guardMs: number, nowMs: number): Grant[] =>
  grants.filter((g) => lastSlotOf(g, limit) > nowMs - keptMs(limit, guardMs));
