/**
 * A rate limit: at most `max` attempts start in any window of `perMs` milliseconds, across every process sharing the
 * store (docs/rate-limits.md). On a worker (`defineWorker({ rateLimit })`) or a queue (`createEngine({ queues })`).
 */
export interface RateLimit {
  readonly max: number;
  readonly perMs: number;
}

/** What is wrong with a rate limit, in words (empty when it is usable). `what` names it: `rateLimit`, `queues.x.rateLimit`. */
export const rateLimitProblems = (limit: unknown, what: string): string[] => {
  if (typeof limit !== 'object' || limit === null || Array.isArray(limit))
    return [`${what} must be { max, perMs }, got ${JSON.stringify(limit)}`];
  const { max, perMs } = limit as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1)
    problems.push(`${what}.max must be a whole number ≥ 1, got ${JSON.stringify(max)}`);
  if (typeof perMs !== 'number' || !Number.isInteger(perMs) || perMs < 1)
    problems.push(`${what}.perMs must be a whole number of milliseconds ≥ 1, got ${JSON.stringify(perMs)}`);
  return problems;
};
