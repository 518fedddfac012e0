import type { JobDashboard } from '../projections/index.js';

/** Counts by status as the dashboard shows them: `errored` split into awaiting a retry and failed for good. */
export interface StatusCounts {
  /** Continuations waiting for their parents. */
  readonly awaiting: number;
  readonly initial: number;
  readonly in_progress: number;
  readonly awaiting_retry: number;
  readonly failed: number;
  readonly completed: number;
  readonly cancelled: number;
  /** Every job ever enqueued. */
  readonly total: number;
}

/** One worker's line of the overview. */
export interface WorkerFigures {
  readonly name: string;
  readonly enqueued: number;
  readonly completed: number;
  /** Failed attempts. */
  readonly errored: number;
  /** Of completed attempts; `undefined` before the first. */
  readonly meanMs?: number;
  readonly p95Ms?: number;
}

/** Completions and failed attempts over the recent past, counted by the server (see `makeThroughputWindow`). */
export interface Throughput {
  readonly windowMs: number;
  readonly bucketMs: number;
  /** How much of the window the server has watched (less than `windowMs` right after it started). */
  readonly spanMs: number;
  readonly completed: number;
  /** Failed attempts (`JobErrored`), retried or not. */
  readonly failed: number;
  readonly completedPerMinute: number;
  readonly failedPerMinute: number;
  /** failed / (completed + failed), 0..1; `undefined` when nothing finished in the window. */
  readonly failureRate?: number;
  /** Oldest first, one per `bucketMs`, the last one being the current bucket. */
  readonly buckets: ReadonlyArray<{ readonly completed: number; readonly failed: number }>;
}

/** Everything the overview page shows. */
export interface Overview {
  readonly counts: StatusCounts;
  readonly workers: readonly WorkerFigures[];
  readonly throughput: Throughput;
  /** Newest first, at most `limit` (see `overviewOf`); every errored job is in the lists. */
  readonly failures: JobDashboard['failures'];
  /**
   * The oldest outstanding jobs, oldest first, at most `limit`: exact as far
   * as they go (every outstanding job not shown was enqueued after the last
   * one shown), but maybe fewer than `limit` while more are outstanding (see
   * projections/job-dashboard.js); `outstandingCount` is exact.
   */
  readonly outstanding: JobDashboard['outstanding']['entries'];
  readonly outstandingCount: number;
}

/**
 * The `job-dashboard` state as the dashboard reads it: `outstanding.through`
 * is the enqueue sequence number up to which `outstanding.entries` holds every
 * outstanding job (0 in a state of the earlier file, which had no such field).
 */
export type DashboardState = JobDashboard;

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const obj = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/**
 * The `job-dashboard` state as the dashboard reads it: a state that is
 * missing (no job yet) or partial reads as zeros, so a page always renders.
 */
export const readDashboardState = (state: unknown): DashboardState => {
  const s = obj(state);
  const counts = obj(s['counts']);
  const outstanding = obj(s['outstanding']);
  const workers: Record<string, JobDashboard['workers'][string]> = {};
  for (const [name, w] of Object.entries(obj(s['workers']))) {
    const f = obj(w);
    const d = obj(f['durations']);
    workers[name] = {
      enqueued: num(f['enqueued']),
      completed: num(f['completed']),
      errored: num(f['errored']),
      durations: { count: num(d['count']), totalMs: num(d['totalMs']), meanMs: num(d['meanMs']), p95Ms: num(d['p95Ms']), buckets: {} },
    };
  }
  return {
    jobs: num(s['jobs']),
    seq: num(s['seq']),
    counts: {
      awaiting: num(counts['awaiting']),
      initial: num(counts['initial']),
      in_progress: num(counts['in_progress']),
      errored: num(counts['errored']),
      completed: num(counts['completed']),
      cancelled: num(counts['cancelled']),
    },
    awaitingRetry: num(s['awaitingRetry']),
    workers,
    outstanding: {
      count: num(outstanding['count']),
      through: num(outstanding['through']),
      entries: Array.isArray(outstanding['entries']) ? (outstanding['entries'] as JobDashboard['outstanding']['entries']) : [],
    },
    failures: Array.isArray(s['failures']) ? (s['failures'] as JobDashboard['failures']) : [],
    limits: { outstanding: num(obj(s['limits'])['outstanding']), failures: num(obj(s['limits'])['failures']) },
  };
};

/** Completed and failed attempts over all workers: what the throughput window counts. */
export const totalsOf = (state: Pick<JobDashboard, 'workers'>): { readonly completed: number; readonly failed: number } => {
  let completed = 0;
  let failed = 0;
  for (const w of Object.values(state.workers)) {
    completed += w.completed;
    failed += w.errored;
  }
  return { completed, failed };
};

/** Options of `makeThroughputWindow`. */
export interface ThroughputWindowOptions {
  /** How far back the figures reach. Default: 5 minutes. */
  readonly windowMs?: number;
  /** The width of one bar of the chart. Default: 15 s. */
  readonly bucketMs?: number;
  /** Default: `Date.now`. */
  readonly now?: () => number;
}

/**
 * A rolling window of completions and failed attempts, kept in the server.
 * The `job-dashboard` projection keeps exact totals but no clock (projection
 * code must be deterministic), so the server observes the totals each time
 * the projection's state changes and counts the increase in time buckets.
 * It knows only what happened while it watched: right after the server
 * starts, `spanMs` is short and the rates are over that span.
 */
export interface ThroughputWindow {
  /** Records the totals of a new projection state (the first call sets the baseline). */
  observe(totals: { readonly completed: number; readonly failed: number }): void;
  snapshot(): Throughput;
}

/** Makes a `ThroughputWindow` (defaults: 5 minutes in 15-second buckets). */
export const makeThroughputWindow = (options: ThroughputWindowOptions = {}): ThroughputWindow => {
  const windowMs = options.windowMs ?? 5 * 60_000;
  const bucketMs = options.bucketMs ?? 15_000;
  const now = options.now ?? Date.now;
  const slots = Math.max(1, Math.ceil(windowMs / bucketMs));
  const buckets = new Map<number, { completed: number; failed: number }>();
  const startedAt = now();
  let last: { completed: number; failed: number } | undefined;

  const prune = (current: number) => {
    for (const k of buckets.keys()) if (k <= current - slots) buckets.delete(k);
  };

  return {
    observe: (totals) => {
      const t = now();
      const previous = last;
      last = { completed: totals.completed, failed: totals.failed };
      if (previous === undefined) return;
      const completed = totals.completed - previous.completed;
      const failed = totals.failed - previous.failed;
      // Totals only grow; a drop means the projection was reset: take the new totals as the baseline.
      if (completed < 0 || failed < 0 || completed + failed === 0) return;
      const k = Math.floor(t / bucketMs);
      const b = buckets.get(k) ?? { completed: 0, failed: 0 };
      b.completed += completed;
      b.failed += failed;
      buckets.set(k, b);
      prune(k);
    },
    snapshot: () => {
      const t = now();
      const current = Math.floor(t / bucketMs);
      prune(current);
      const series = Array.from({ length: slots }, (_, i) => {
        const b = buckets.get(current - slots + 1 + i);
        return { completed: b?.completed ?? 0, failed: b?.failed ?? 0 };
      });
      const completed = series.reduce((n, b) => n + b.completed, 0);
      const failed = series.reduce((n, b) => n + b.failed, 0);
      const spanMs = Math.min(windowMs, Math.max(1, t - startedAt));
      const perMinute = (n: number) => (n * 60_000) / Math.max(spanMs, 1000);
      return {
        windowMs,
        bucketMs,
        spanMs,
        completed,
        failed,
        completedPerMinute: perMinute(completed),
        failedPerMinute: perMinute(failed),
        ...(completed + failed > 0 ? { failureRate: failed / (completed + failed) } : {}),
        buckets: series,
      };
    },
  };
};

/** The overview of a `job-dashboard` state: counts, workers by name, the newest `limit` failures and oldest `limit` outstanding jobs (default 10). */
export const overviewOf = (state: DashboardState, throughput: Throughput, limit = 10): Overview => ({
  counts: {
    awaiting: state.counts.awaiting,
    initial: state.counts.initial,
    in_progress: state.counts.in_progress,
    awaiting_retry: state.awaitingRetry,
    failed: Math.max(0, state.counts.errored - state.awaitingRetry),
    completed: state.counts.completed,
    cancelled: state.counts.cancelled,
    total: state.jobs,
  },
  workers: Object.entries(state.workers)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, w]) => ({
      name,
      enqueued: w.enqueued,
      completed: w.completed,
      errored: w.errored,
      ...(w.durations.count > 0 ? { meanMs: w.durations.meanMs, p95Ms: w.durations.p95Ms } : {}),
    })),
  throughput,
  failures: state.failures.slice(0, limit),
  outstanding: state.outstanding.entries.slice(0, limit),
  outstandingCount: state.outstanding.count,
});
