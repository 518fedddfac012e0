import { ErrorCodes, JobtrailError } from '../errors/index.js';
import type { Delivery } from '../broker/index.js';
import type { Logger } from '../log/index.js';
import type { WorkerRegistry } from '../worker/index.js';
import { makeRateGate, type GateStats, type RateGate, type RateGateDeps } from './rateGate.js';
import { rateLimitProblems, type RateLimit } from '../worker/rateLimit.js';

/** Settings of a named queue (`createEngine({ queues })`). */
export interface QueueOptions {
  /** At most `max` attempts of the queue's jobs start in any `perMs`, across every process (docs/rate-limits.md). */
  readonly rateLimit?: RateLimit;
}

/** The stream of a worker's limit. */
export const workerRateStream = (workerName: string): string => `ratelimit-worker-${workerName}`;
/** The stream of a queue's limit. */
export const queueRateStream = (queue: string): string => `ratelimit-queue-${queue}`;

/** Checks `createEngine`'s `queues` option; throws `InvalidConfig` naming every problem. */
export const validateQueueOptions = (queues: unknown): void => {
  if (queues === undefined) return;
  if (typeof queues !== 'object' || queues === null || Array.isArray(queues))
    throw new JobtrailError(ErrorCodes.InvalidConfig, `queues must be an object { <queue name>: { rateLimit } }, got ${String(queues)}`);
  const problems: string[] = [];
  for (const [name, q] of Object.entries(queues as Record<string, unknown>)) {
    if (typeof q !== 'object' || q === null) problems.push(`queues.${name} must be { rateLimit? }, got ${String(q)}`);
    else if ((q as QueueOptions).rateLimit !== undefined)
      problems.push(...rateLimitProblems((q as QueueOptions).rateLimit, `queues.${name}.rateLimit`));
  }
  if (problems.length > 0) throw new JobtrailError(ErrorCodes.InvalidConfig, problems.join('; '));
};

/** The limits of an engine's workers and queues, as gates; `undefined` from `makeRateLimits` when nothing is limited. */
export interface RateLimits {
  /** The gates an attempt of `workerName` on `queue` passes, in that order (the worker's, then the queue's). */
  gatesFor(workerName: string, queue: string): readonly RateGate[];
  /** What each gate did so far. */
  stats(): ReadonlyArray<GateStats & { readonly stream: string; readonly limit: RateLimit }>;
}

/**
 * The gates of the limited workers and queues, made on first use. `undefined` when none is limited: the conductor then
 * does nothing at all for limits (no read, no append).
 */
export const makeRateLimits = (
  deps: RateGateDeps,
  registry: WorkerRegistry,
  queues: Readonly<Record<string, QueueOptions>> | undefined,
  options: { readonly guardMs?: number } = {},
): RateLimits | undefined => {
  const workerLimits = new Map<string, RateLimit>();
  for (const name of registry.names) {
    const limit = registry.get(name)?.rateLimit;
    if (limit !== undefined) workerLimits.set(name, limit);
  }
  const queueLimits = new Map<string, RateLimit>();
  for (const [name, q] of Object.entries(queues ?? {})) if (q.rateLimit !== undefined) queueLimits.set(name, q.rateLimit);
  if (workerLimits.size === 0 && queueLimits.size === 0) return undefined;
  const gates = new Map<string, RateGate>();
  const gate = (stream: string, limit: RateLimit): RateGate => {
    let g = gates.get(stream);
    if (g === undefined) {
      g = makeRateGate(deps, stream, limit, options);
      gates.set(stream, g);
    }
    return g;
  };
  const none: readonly RateGate[] = [];
  return {
    gatesFor: (workerName, queue) => {
      const w = workerLimits.get(workerName);
      const q = queueLimits.get(queue);
      if (w === undefined && q === undefined) return none;
      return [...(w ? [gate(workerRateStream(workerName), w)] : []), ...(q ? [gate(queueRateStream(queue), q)] : [])];
    },
    stats: () => [...gates.values()].map((g) => ({ stream: g.stream, limit: g.limit, ...g.stats() })),
  };
};

/** What passing the limits came to, for the dispatch. */
export type Passed = 'granted' | 'handBack' | 'unavailable' | { readonly deferMs: number; readonly why: string };

/**
 * Waits for a permit of each gate, in order, for at most `maxWaitMs` in all: `handBack` when the delivery is lost or
 * the engine stops meanwhile, `deferMs` when a permit is not likely within the wait or another process holds this
 * attempt's permit (a duplicate dispatch). A permit taken from the first gate when the second defers is not given
 * back: it lapses with its window (the same attempt asking again within the guard reuses it).
 */
export const passRateLimits = async (
  gates: readonly RateGate[],
  jobId: string,
  attempt: number,
  delivery: Delivery,
  accepting: (() => boolean) | undefined,
  maxWaitMs: number,
  now: () => Date,
  log: Logger,
): Promise<Passed> => {
  const cancel = new AbortController();
  const onLost = () => cancel.abort('lost');
  delivery.lost?.addEventListener('abort', onLost, { once: true });
  const poll = accepting === undefined ? undefined : setInterval(() => void (accepting() || cancel.abort('stopping')), 100);
  const until = Date.now() + maxWaitMs;
  try {
    // A permit not used within its guard (a second gate made the first wait, a busy event loop) is let go: ask again.
    for (let round = 1; ; round++) {
      let freshUntilMs = Number.POSITIVE_INFINITY;
      for (const gate of gates) {
        const outcome = await gate.acquire(jobId, attempt, cancel.signal, Math.max(0, until - Date.now()));
        switch (outcome._tag) {
          case 'Granted':
            freshUntilMs = Math.min(freshUntilMs, outcome.freshUntilMs);
            continue;
          case 'Cancelled':
            return 'handBack';
          case 'Unavailable':
            log.warn(
              { stream: gate.stream, err: outcome.message },
              'store unavailable at the rate limit; the delivery is kept and retried',
            );
            return 'unavailable';
          case 'Held':
            return { deferMs: 0, why: `${gate.stream}: the permit of this attempt is held by ${outcome.by}` };
          case 'Later':
            return { deferMs: outcome.delayMs, why: `${gate.stream}: at its limit (${gate.limit.max} per ${gate.limit.perMs} ms)` };
        }
      }
      if (cancel.signal.aborted || accepting?.() === false) return 'handBack';
      if (now().getTime() <= freshUntilMs) return 'granted';
      log.debug(
        { jobId, attempt, round, lateMs: now().getTime() - freshUntilMs },
        'a rate-limit permit went stale before its start; asking again',
      );
      if (Date.now() >= until) return { deferMs: 0, why: 'its permits went stale before it could start' };
    }
  } finally {
    clearInterval(poll);
    delivery.lost?.removeEventListener('abort', onLost);
  }
};
