// Rate limits (docs/rate-limits.md): what the record says about a limit, for the tests and bench/rateLimit.ts.
import type { Engine } from '../../src/engine.js';

/** The most of `timesMs` that fall in any window [t, t + perMs). */
export const maxInWindow = (timesMs: readonly number[], perMs: number): number => {
  const ts = [...timesMs].sort((a, b) => a - b);
  let best = 0;
  let j = 0;
  for (let i = 0; i < ts.length; i++) {
    while (j < ts.length && ts[j]! < ts[i]! + perMs) j++;
    best = Math.max(best, j - i);
  }
  return best;
};

/** Every attempt's start and every completion of the jobs, from their streams (the record), in ms; and who started each. */
export const startsAndCompletions = async (engine: Pick<Engine, 'history'>, ids: readonly string[]) => {
  const starts: { jobId: string; attempt: number; atMs: number; workerId: string }[] = [];
  const completions: number[] = [];
  for (const id of ids) {
    for (const { event: e } of await engine.history(id)) {
      if (e.type === 'JobStarted')
        starts.push({ jobId: id, attempt: e.data.attempt, atMs: Date.parse(e.data.startedAt), workerId: e.data.workerId });
      if (e.type === 'JobCompleted') completions.push(Date.parse(e.data.completedAt));
    }
  }
  return { starts, completions };
};
