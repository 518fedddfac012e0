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

/** Partitions of projections/job-throughput.js: one per hour, in a ring of this many (32 days). */
export const throughputSlots = 768;
/** The partition that counts `hour` (hours since the epoch), when its `h` is that hour. */
export const throughputPartition = (hour: number): string => `h${hour % throughputSlots}`;
/** The partition counting the events whose time could not be read. */
export const unreadablePartition = 'unreadable';

/** One hour as the job-throughput projection counted it. */
export interface ThroughputHour {
  /** Hours since 1970-01-01T00:00Z. */
  readonly hour: number;
  readonly totals: ThroughputCounts;
  /** Its minutes with any count: `[minute of the hour, enqueued, completed, failed, errored, cancelled]`, by minute. */
  readonly minutes: ReadonlyArray<readonly [number, number, number, number, number, number]>;
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

/** The three charts, as `/api/throughput` answers. */
export interface ThroughputHistory {
  /** The time the series end at (the reader's clock), ISO. */
  readonly now: string;
  readonly kinds: readonly ThroughputKind[];
  readonly ranges: Readonly<Record<ThroughputRange, ThroughputSeries>>;
  /** Events whose time could not be read (partition `unreadable`): counted, but in no bucket. */
  readonly unreadable: ThroughputCounts;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const zero = (): Record<ThroughputKind, number> => ({ enqueued: 0, completed: 0, failed: 0, errored: 0, cancelled: 0 });
const countsOf = (v: unknown): Record<ThroughputKind, number> => {
  const c = zero();
  if (Array.isArray(v)) ThroughputKinds.forEach((k, i) => (c[k] = num(v[i])));
  return c;
};

/**
 * Hour `hour` of a job-throughput partition state; `undefined` when the
 * partition has no state or counts another hour (its slot's hour 32 days
 * earlier or later): that hour had no events kept.
 */
export const readThroughputHour = (state: unknown, hour: number): ThroughputHour | undefined => {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return undefined;
  const s = state as Record<string, unknown>;
  if (s['h'] !== hour) return undefined;
  const minutes = Array.isArray(s['m'])
    ? s['m'].flatMap((r): Array<[number, number, number, number, number, number]> =>
        Array.isArray(r) && r.length >= 6 && r.every((n) => typeof n === 'number' && Number.isFinite(n))
          ? [[r[0], r[1], r[2], r[3], r[4], r[5]] as [number, number, number, number, number, number]]
          : [],
      )
    : [];
  return { hour, totals: countsOf(s['n']), minutes };
};

const minuteMs = 60_000;
const hourMs = 3_600_000;

/** The hours (since the epoch) a range's buckets at `nowMs` draw on, oldest first. */
export const hoursOfRange = (range: ThroughputRange, nowMs: number): number[] => {
  const r = ThroughputRanges[range];
  const steps = r.spanMinutes / r.stepMinutes;
  const nowStep = Math.floor(Math.floor(nowMs / minuteMs) / r.stepMinutes);
  const first = Math.floor(((nowStep - steps + 1) * r.stepMinutes) / 60);
  const last = Math.floor(nowMs / hourMs);
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
};

/**
 * The buckets of `range` ending with the one that holds `nowMs`: the last 60
 * minutes, the last 96 quarter hours, the last 168 hours, each aligned to its
 * step (UTC), summed from the hours `hourOf` gives (per minute for the hour
 * and the day, per hour for the week).
 */
export const throughputSeries = (
  hourOf: (hour: number) => ThroughputHour | undefined,
  range: ThroughputRange,
  nowMs: number,
): ThroughputSeries => {
  const r = ThroughputRanges[range];
  const steps = r.spanMinutes / r.stepMinutes;
  const nowStep = Math.floor(Math.floor(nowMs / minuteMs) / r.stepMinutes);
  const firstStep = nowStep - steps + 1;
  const counts = Array.from({ length: steps }, zero);
  const totals = zero();
  const add = (minute: number, values: ReadonlyArray<number>) => {
    const i = Math.floor(minute / r.stepMinutes) - firstStep;
    if (i < 0 || i >= steps) return;
    const bucket = counts[i] as Record<ThroughputKind, number>;
    ThroughputKinds.forEach((k, c) => {
      bucket[k] += values[c] as number;
      totals[k] += values[c] as number;
    });
  };
  for (const hour of hoursOfRange(range, nowMs)) {
    const h = hourOf(hour);
    if (h === undefined) continue;
    if (r.rows === 'hours') add(hour * 60, ThroughputKinds.map((k) => h.totals[k]));
    else for (const row of h.minutes) add(hour * 60 + row[0], row.slice(1));
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

/** The three charts at `nowMs` from the hours `hourOf` gives. */
export const throughputHistoryOf = (
  hourOf: (hour: number) => ThroughputHour | undefined,
  nowMs: number,
  unreadable: ThroughputCounts = zero(),
): ThroughputHistory => ({
  now: new Date(nowMs).toISOString(),
  kinds: ThroughputKinds,
  ranges: {
    hour: throughputSeries(hourOf, 'hour', nowMs),
    day: throughputSeries(hourOf, 'day', nowMs),
    week: throughputSeries(hourOf, 'week', nowMs),
  },
  unreadable,
});

export interface ThroughputReaderOptions {
  /** How long an hour before the last two is read from the reader's cache (late events reach it at most this late). Default: 60 s. */
  readonly closedHourTtlMs?: number;
  /** Partition states read at once. Default: 16. */
  readonly concurrency?: number;
}

/** Reads the job-throughput projection's hours for the charts, with a cache of the closed hours. */
export interface ThroughputReader {
  /** The charts ending at `nowMs` (default: now). */
  read(nowMs?: number): Promise<ThroughputHistory>;
}

/**
 * A reader of the job-throughput projection for charts that are drawn again
 * and again: the week needs 169 partition states (one gRPC call each on
 * EventStoreDB), so the hours before the last two are kept for
 * `closedHourTtlMs` and read again after that (an event may still arrive for
 * them late); the current and the previous hour are read on every call.
 */
export const makeThroughputReader = (queries: Pick<ProjectionQueries, 'getState'>, options: ThroughputReaderOptions = {}): ThroughputReader => {
  const ttl = options.closedHourTtlMs ?? 60_000;
  const concurrency = Math.max(1, options.concurrency ?? 16);
  const cache = new Map<number, { readonly value: ThroughputHour | undefined; readonly readAt: number }>();
  return {
    read: async (nowMs = Date.now()) => {
      const nowHour = Math.floor(nowMs / hourMs);
      const hours = hoursOfRange('week', nowMs);
      for (const h of cache.keys()) if (h < (hours[0] as number)) cache.delete(h);
      const wanted = hours.filter((h) => {
        const c = cache.get(h);
        return h >= nowHour - 1 || c === undefined || nowMs - c.readAt >= ttl || c.readAt > nowMs;
      });
      let next = 0;
      const worker = async () => {
        while (next < wanted.length) {
          const h = wanted[next++] as number;
          const value = readThroughputHour(await queries.getState(ProjectionNames.jobThroughput, throughputPartition(h)), h);
          cache.set(h, { value, readAt: nowMs });
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, wanted.length) }, worker));
      const rest = await queries.getState(ProjectionNames.jobThroughput, unreadablePartition);
      const unreadable = countsOf(typeof rest === 'object' && rest !== null ? (rest as Record<string, unknown>)['n'] : undefined);
      return throughputHistoryOf((h) => cache.get(h)?.value, nowMs, unreadable);
    },
  };
};

/** Reads the job-throughput projection once and answers its charts at `nowMs` (default: now). */
export const readThroughputHistory = (queries: Pick<ProjectionQueries, 'getState'>, nowMs: number = Date.now()): Promise<ThroughputHistory> =>
  makeThroughputReader(queries).read(nowMs);
