import type { ProjectionQueries } from './projectionQueries.js';
import { ProjectionNames } from './projectionFiles.js';

/** What projections/job-throughput.js counts, in the order of its bucket rows (after the time). */
export const ThroughputKinds = ['enqueued', 'completed', 'failed', 'errored', 'cancelled'] as const;
/**
 * `enqueued`: JobEnqueued; `completed`: JobCompleted; `failed`: a JobErrored
 * with no retry (failed for good); `errored`: a JobErrored with a retry
 * scheduled; `cancelled`: JobCancelled.
 */
export type ThroughputKind = (typeof ThroughputKinds)[number];
export type ThroughputCounts = Readonly<Record<ThroughputKind, number>>;

/** One bucket row of the state: `[t, enqueued, completed, failed, errored, cancelled]`, t in minutes or hours since the epoch. */
export type ThroughputRow = readonly [number, number, number, number, number, number];

/** The state of projections/job-throughput.js, as `readThroughputState` reads it. */
export interface ThroughputState {
  /** Per-minute rows, oldest first, the newest `limits.minutes` minutes up to `latest`. */
  readonly minutes: readonly ThroughputRow[];
  /** Per-hour rows, oldest first, the newest `limits.hours` hours up to `latest`. */
  readonly hours: readonly ThroughputRow[];
  /** The latest minute (since the epoch) an event recorded; -1 before the first. */
  readonly latest: number;
  /** Every event counted since the record began, kept buckets or not. */
  readonly totals: ThroughputCounts;
  /** Events older than the minutes kept when they were folded (counted in hours and totals). */
  readonly late: number;
  /** Events older than the hours kept when they were folded (counted in totals only). */
  readonly dropped: number;
  /** Events whose time could not be read (counted in totals only). */
  readonly unreadable: number;
  readonly limits: { readonly minutes: number; readonly hours: number };
}

/** The charts' spans: the last hour per minute, the last day per 15 minutes, the last week per hour. */
export const ThroughputRanges = {
  hour: { spanMinutes: 60, stepMinutes: 1, rows: 'minutes' },
  day: { spanMinutes: 24 * 60, stepMinutes: 15, rows: 'minutes' },
  week: { spanMinutes: 7 * 24 * 60, stepMinutes: 60, rows: 'hours' },
} as const;
export type ThroughputRange = keyof typeof ThroughputRanges;
export const isThroughputRange = (s: string): s is ThroughputRange => Object.hasOwn(ThroughputRanges, s);

/** One bar of a chart: the bucket starting at `at`, `stepMs` long. */
export type ThroughputBucket = ThroughputCounts & { readonly at: string };

/** A chart's data: buckets of `stepMs` from `from` (inclusive) to `to` (exclusive), oldest first, and their sums. */
export interface ThroughputSeries {
  readonly range: ThroughputRange;
  readonly from: string;
  readonly to: string;
  readonly stepMs: number;
  readonly buckets: readonly ThroughputBucket[];
  readonly totals: ThroughputCounts;
}

/** The three charts and the counts since the record began, as `/api/throughput` answers. */
export interface ThroughputHistory {
  /** The time the series end at (the reader's clock), ISO. */
  readonly now: string;
  readonly kinds: readonly ThroughputKind[];
  readonly ranges: Readonly<Record<ThroughputRange, ThroughputSeries>>;
  readonly allTime: ThroughputCounts;
  /** Events the kept buckets miss: older than the buckets kept when folded (`late`: minutes, `dropped`: hours), or with no readable time. */
  readonly missed: { readonly late: number; readonly dropped: number; readonly unreadable: number };
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const zero = (): Record<ThroughputKind, number> => ({ enqueued: 0, completed: 0, failed: 0, errored: 0, cancelled: 0 });

const rowsOf = (v: unknown): ThroughputRow[] =>
  Array.isArray(v)
    ? v.flatMap((r): ThroughputRow[] =>
        Array.isArray(r) && r.length >= 6 && r.every((n) => typeof n === 'number' && Number.isFinite(n))
          ? [[r[0], r[1], r[2], r[3], r[4], r[5]] as ThroughputRow]
          : [],
      )
    : [];

/** The job-throughput state as it is read: a missing state (no job yet, or not folded yet) or a malformed part reads as empty. */
export const readThroughputState = (state: unknown): ThroughputState => {
  const s = typeof state === 'object' && state !== null && !Array.isArray(state) ? (state as Record<string, unknown>) : {};
  const totals = Array.isArray(s['totals']) ? (s['totals'] as unknown[]) : [];
  const limits = typeof s['limits'] === 'object' && s['limits'] !== null ? (s['limits'] as Record<string, unknown>) : {};
  const counts = zero();
  ThroughputKinds.forEach((k, i) => (counts[k] = num(totals[i])));
  return {
    minutes: rowsOf(s['minutes']),
    hours: rowsOf(s['hours']),
    latest: typeof s['latest'] === 'number' ? s['latest'] : -1,
    totals: counts,
    late: num(s['late']),
    dropped: num(s['dropped']),
    unreadable: num(s['unreadable']),
    limits: { minutes: num(limits['minutes']), hours: num(limits['hours']) },
  };
};

const minuteMs = 60_000;

/**
 * The buckets of `range` ending with the one that holds `nowMs`: the last 60
 * minutes, the last 96 quarter hours, the last 168 hours, each aligned to its
 * step (UTC), summed from the state's rows.
 */
export const throughputSeries = (state: ThroughputState, range: ThroughputRange, nowMs: number): ThroughputSeries => {
  const r = ThroughputRanges[range];
  const steps = r.spanMinutes / r.stepMinutes;
  const nowStep = Math.floor(Math.floor(nowMs / minuteMs) / r.stepMinutes);
  const firstStep = nowStep - steps + 1;
  // Rows are in minutes or in hours; each row falls in the step holding its start.
  const rowMinutes = r.rows === 'minutes' ? 1 : 60;
  const counts = Array.from({ length: steps }, zero);
  const totals = zero();
  for (const row of r.rows === 'minutes' ? state.minutes : state.hours) {
    const i = Math.floor((row[0] * rowMinutes) / r.stepMinutes) - firstStep;
    if (i < 0 || i >= steps) continue;
    const bucket = counts[i] as Record<ThroughputKind, number>;
    ThroughputKinds.forEach((k, c) => {
      bucket[k] += row[c + 1] as number;
      totals[k] += row[c + 1] as number;
    });
  }
  const stepMs = r.stepMinutes * minuteMs;
  return {
    range,
    from: new Date(firstStep * stepMs).toISOString(),
    to: new Date((nowStep + 1) * stepMs).toISOString(),
    stepMs,
    buckets: counts.map((c, i) => ({ at: new Date((firstStep + i) * stepMs).toISOString(), ...c })),
    totals,
  };
};

/** The charts of a job-throughput state at `nowMs`. */
export const throughputHistoryOf = (state: ThroughputState, nowMs: number): ThroughputHistory => ({
  now: new Date(nowMs).toISOString(),
  kinds: ThroughputKinds,
  ranges: {
    hour: throughputSeries(state, 'hour', nowMs),
    day: throughputSeries(state, 'day', nowMs),
    week: throughputSeries(state, 'week', nowMs),
  },
  allTime: state.totals,
  missed: { late: state.late, dropped: state.dropped, unreadable: state.unreadable },
});

/** Reads the job-throughput projection and answers its charts at `nowMs` (default: now). */
export const readThroughputHistory = async (queries: Pick<ProjectionQueries, 'getState'>, nowMs: number = Date.now()): Promise<ThroughputHistory> =>
  throughputHistoryOf(readThroughputState(await queries.getState(ProjectionNames.jobThroughput)), nowMs);
