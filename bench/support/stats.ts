/** Summaries of repeated measurements. */

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);

export const median = (xs: readonly number[]): number => {
  const s = sorted(xs);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** Median, min and max of the finite values; `undefined` when there are none. */
export const spread = (xs: readonly number[]): Spread | undefined => {
  const finite = xs.filter((x) => Number.isFinite(x));
  if (finite.length === 0) return undefined;
  const s = sorted(finite);
  return { median: median(s), min: s[0] as number, max: s[s.length - 1] as number, runs: s.length };
};

/** Nearest-rank percentile (p in 0..100) of an ascending array. */
export const percentileOfSorted = (s: Float64Array | readonly number[], p: number): number => {
  if (s.length === 0) return Number.NaN;
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank] as number;
};

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export const summariseLatencies = (values: readonly number[] | Float64Array): LatencySummary => {
  const s = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of s) sum += v;
  return {
    count: s.length,
    p50: percentileOfSorted(s, 50),
    p90: percentileOfSorted(s, 90),
    p99: percentileOfSorted(s, 99),
    max: s.length > 0 ? (s[s.length - 1] as number) : Number.NaN,
    mean: s.length > 0 ? sum / s.length : Number.NaN,
  };
};
