import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { PathReporter } from 'io-ts/lib/PathReporter.js';
import type { JobStatus, JobView } from '../job/index.js';
import { brandClass, ErrorCodes, JobtrailError } from '../errors/index.js';
import type { JobSearchQueries } from './jobSearch.js';

/** A projection state that changed: `partition` is absent for an unpartitioned state or a bi-state projection's shared state. */
export interface ProjectionChange {
  readonly partition?: string;
  /** The new state; `undefined` when it was removed. */
  readonly state: unknown;
}

/** Which job views to list. */
export interface JobViewFilter {
  readonly status?: JobStatus;
  readonly workerName?: string;
  /** Page size. Default: 50; at most 1000. */
  readonly limit?: number;
  /** The `next` cursor of the previous page. */
  readonly after?: string;
  /**
   * Oldest enqueued first (retention walks from the oldest: docs/retention.md). The embedded store honours it;
   * EventStoreDB's index lists newest first whatever this says. Default: newest first.
   */
  readonly oldestFirst?: boolean;
}

/** One page of job views, newest enqueued first; `next` is absent on the last page. */
export interface JobViewPage {
  readonly jobs: readonly JobView[];
  readonly next?: string;
}

export interface WaitForOptions {
  /** The partition to watch (`job-<id>` for job-view). Default: the unpartitioned or shared state. */
  readonly partition?: string;
  /** Default: 10 000 ms. */
  readonly timeoutMs?: number;
}

/**
 * Reading projections, the same in both modes: EventStoreDB's
 * projection states and result streams, or the embedded runtime's tables.
 */
export interface ProjectionQueries {
  /** The state of a projection (partition: `job-<id>` for job-view); `undefined` when there is none. */
  getState(name: string, partition?: string): Promise<unknown>;
  /** Job views filtered by status and worker, newest enqueued first, paged with `next`. */
  listJobViews(filter?: JobViewFilter): Promise<JobViewPage>;
  /** The dashboard console's search (jobSearch.ts): id, status, worker, queue, time ranges, both orders, paged both ways. */
  searchJobs?: JobSearchQueries['searchJobs'];
  /** How many jobs of each status match a search's filters (jobSearch.ts). */
  countJobs?: JobSearchQueries['countJobs'];
  /** Calls `onChange` for each state the projection changes from now on; returns the unsubscribe function. */
  subscribe(name: string, onChange: (change: ProjectionChange) => void): () => void;
  /**
   * Resolves with the state once `until(state)` holds (checked now, then on
   * each change); rejects with `ProjectionWaitTimeout` after the timeout.
   */
  waitFor(name: string, until: (state: unknown) => boolean, options?: WaitForOptions): Promise<unknown>;
  /** Releases subscriptions and timers; the store or client stays open. */
  close(): Promise<void>;
}

/** A projection jobtrail reads is not on the EventStoreDB server: `jobtrail projections install` puts it there. */
export class ProjectionNotInstalledError extends JobtrailError {
  static {
    brandClass(this, 'ProjectionNotInstalledError');
  }
  constructor(
    readonly projection: string,
    what: string,
    options?: { cause?: unknown },
  ) {
    super(
      ErrorCodes.ProjectionNotInstalled,
      `the EventStoreDB projection "${projection}" is not installed, so ${what}: run \`jobtrail projections install\``,
      options,
    );
    this.name = 'ProjectionNotInstalledError';
  }
}

/** `waitFor` gave up: the state did not reach the condition in time. */
export class ProjectionWaitTimeout extends JobtrailError {
  static {
    brandClass(this, 'ProjectionWaitTimeout');
  }
  constructor(
    readonly projection: string,
    readonly partition: string | undefined,
    readonly timeoutMs: number,
    readonly lastState: unknown,
  ) {
    super(
      ErrorCodes.ProjectionTimeout,
      `projection "${projection}"${partition !== undefined ? ` partition "${partition}"` : ''} did not reach the awaited state within ${timeoutMs} ms; ` +
        `last state: ${JSON.stringify(lastState) ?? 'none'}. Is the projection running (and not faulted)?`,
    );
    this.name = 'ProjectionWaitTimeout';
  }
}

/** `waitFor` on top of `getState` and `subscribe`, for both implementations. */
export const waitForState = (
  queries: Pick<ProjectionQueries, 'getState' | 'subscribe'>,
  name: string,
  until: (state: unknown) => boolean,
  options: WaitForOptions = {},
): Promise<unknown> => {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    let last: unknown;
    let done = false;
    let unsubscribe = (): void => undefined;
    const finish = (f: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unsubscribe();
      f();
    };
    const check = (state: unknown) => {
      last = state;
      let ok: boolean;
      try {
        ok = until(state);
      } catch (err) {
        finish(() => reject(err));
        return;
      }
      if (ok) finish(() => resolve(state));
    };
    const timer = setTimeout(() => finish(() => reject(new ProjectionWaitTimeout(name, options.partition, timeoutMs, last))), timeoutMs);
    unsubscribe = queries.subscribe(name, (change) => {
      if (change.partition === options.partition) check(change.state);
    });
    queries.getState(name, options.partition).then(
      (state) => {
        if (!done) check(state);
      },
      (err: unknown) => finish(() => reject(err)),
    );
  });
};

const JobStatusCodec = t.keyof({ awaiting: null, initial: null, in_progress: null, errored: null, completed: null, cancelled: null });

/** What a job-view state must hold to be listed as a `JobView` (checked where states come in from a store). */
const JobViewState = t.type({
  jobId: t.string,
  workerName: t.string,
  queue: t.string,
  maxAttempts: t.number,
  status: JobStatusCodec,
  attempts: t.number,
  attemptBase: t.number,
  enqueuedAt: t.string,
  updatedAt: t.string,
});

/** A job-view state that is not a job view: a defect of the projection or the store. */
export class InvalidJobViewState extends JobtrailError {
  static {
    brandClass(this, 'InvalidJobViewState');
  }
  constructor(
    readonly partition: string,
    readonly problems: readonly string[],
  ) {
    super(ErrorCodes.InvalidProjectionState, `the job-view state of "${partition}" is not a job view: ${problems.join('; ')}`);
    this.name = 'InvalidJobViewState';
  }
}

/** `undefined` for a job that has no view yet (`{status: 'none'}`); the view when it decodes; else throws `InvalidJobViewState`. */
export const toJobView = (partition: string, state: unknown): JobView | undefined => {
  if (state === undefined || state === null) return undefined;
  if (typeof state === 'object' && (state as { status?: unknown }).status === 'none') return undefined;
  const decoded = JobViewState.decode(state);
  if (E.isLeft(decoded)) throw new InvalidJobViewState(partition, PathReporter.report(decoded));
  return state as JobView;
};

/** Page size of `listJobViews`: default 50, between 1 and 1000. */
export const pageSize = (limit: number | undefined): number =>
  limit === undefined || !Number.isFinite(limit) ? 50 : Math.min(1000, Math.max(1, Math.floor(limit)));

/** A cursor that does not come from this store's `listJobViews`. */
export class InvalidCursor extends JobtrailError {
  static {
    brandClass(this, 'InvalidCursor');
  }
  constructor(readonly cursor: string) {
    super(ErrorCodes.InvalidCursor, `invalid listJobViews cursor "${cursor}": pass back the "next" value of the previous page`);
    this.name = 'InvalidCursor';
  }
}

/** Encodes a page cursor (opaque to callers). */
export const encodeCursor = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Decodes a page cursor with its codec; throws `InvalidCursor`. */
export const decodeCursor = <A>(codec: t.Type<A, unknown>, cursor: string): A => {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursor(cursor);
  }
  const decoded = codec.decode(raw);
  if (E.isLeft(decoded)) throw new InvalidCursor(cursor);
  return decoded.right;
};

/** The dashboard's per-worker figures (projections/job-dashboard.js). */
export interface JobDashboardWorker {
  readonly enqueued: number;
  readonly completed: number;
  /** Failed attempts (JobErrored events). */
  readonly errored: number;
  /** Durations of completed attempts: p95 is a bucket's upper bound, within 9% of the exact value. */
  readonly durations: {
    readonly count: number;
    readonly totalMs: number;
    readonly meanMs: number;
    readonly p95Ms: number;
    readonly buckets: Readonly<Record<string, number>>;
  };
}

/** The state of projections/job-dashboard.js (its shared state). */
export interface JobDashboard {
  /** Jobs known now: purged ones leave it (docs/retention.md). */
  readonly jobs: number;
  /** Jobs purged so far; absent before the first. */
  readonly purged?: number;
  readonly seq: number;
  readonly counts: Readonly<Record<JobStatus, number>>;
  /** Errored jobs with a retry scheduled (counted in `counts.errored` too). */
  readonly awaitingRetry: number;
  readonly workers: Readonly<Record<string, JobDashboardWorker>>;
  /**
   * `count` is exact; `entries`, oldest first, are at most `limits.outstanding`
   * (10): every outstanding job enqueued up to sequence number `through` is
   * listed, so a job not listed is newer than every listed one.
   */
  readonly outstanding: {
    readonly count: number;
    readonly through: number;
    readonly entries: ReadonlyArray<{ readonly jobId: string; readonly status: JobStatus; readonly workerName: string; readonly enqueuedAt: string; readonly n: number }>;
  };
  /** The newest failed attempts, newest first, at most `limits.failures` (10). */
  readonly failures: ReadonlyArray<{
    readonly jobId: string;
    readonly workerName: string;
    readonly attempt: number;
    readonly error: { readonly name: string; readonly message: string };
    readonly at: string;
    readonly retryAt?: string;
  }>;
  readonly limits: { readonly outstanding: number; readonly failures: number };
}
