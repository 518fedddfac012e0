import * as t from 'io-ts';
import { erroredSplitOf, type JobStatus, type JobView } from '../job/index.js';
import { decodeCursor, encodeCursor } from './projectionQueries.js';

// The dashboard's console (docs/dashboard.md): jobs searched by id, filtered by status, worker, queue and time
// ranges, sorted by enqueue time either way, and paged both ways by a keyset cursor; and the count of each status
// under the same filters. Both read sides answer it: the embedded store with SQL over its job-view tables
// (sqliteJobSearch.ts), EventStoreDB by walking job-index's enqueue-order index (esdbJobSearch.ts).

/** A status as the console lists it: a job status, with `errored` split into `awaiting_retry` (a retry is scheduled) and `failed` (none). */
export type SearchStatus = JobStatus | 'awaiting_retry' | 'failed';

/** The statuses counted on the console's tabs. */
export const searchStatuses: readonly Exclude<SearchStatus, 'errored'>[] = [
  'awaiting',
  'initial',
  'in_progress',
  'awaiting_retry',
  'failed',
  'completed',
  'cancelled',
];

/** Which jobs to list; every field narrows. Times are ms since the epoch. */
export interface JobSearch {
  readonly status?: SearchStatus;
  /** Exactly this job id. */
  readonly jobId?: string;
  /** Job ids that start with this. */
  readonly jobIdPrefix?: string;
  readonly workerName?: string;
  readonly queue?: string;
  /** Enqueued at or after. */
  readonly enqueuedSince?: number;
  /** Enqueued before. */
  readonly enqueuedUntil?: number;
  /** Finished (completed, cancelled, or failed with no retry) at or after; a job not finished does not match. */
  readonly finishedSince?: number;
  /** Finished before; a job not finished does not match. */
  readonly finishedUntil?: number;
  /** Oldest enqueued first. Default: newest first. */
  readonly oldestFirst?: boolean;
  /** Page size. Default 50, 1 to 1000. */
  readonly limit?: number;
  /** A `next` or `prev` cursor of a page of the same search. */
  readonly cursor?: string;
}

/** A page of a search, in the search's order. */
export interface JobSearchPage {
  readonly jobs: readonly JobView[];
  /** The page after this one (absent on the last). */
  readonly next?: string;
  /** The page before this one (absent on the first). */
  readonly prev?: string;
}

/** How many jobs of each status match a search's filters (its status aside). */
export interface JobSearchCounts {
  readonly counts: Readonly<Record<Exclude<SearchStatus, 'errored'>, number>>;
  readonly total: number;
  /** `false` when the read side stopped counting at its limit (EventStoreDB): the counts are then lower bounds. */
  readonly complete: boolean;
}

/** The console's queries: implemented by both read sides. */
export interface JobSearchQueries {
  searchJobs(search: JobSearch): Promise<JobSearchPage>;
  countJobs(search: Omit<JobSearch, 'status' | 'cursor' | 'limit' | 'oldestFirst'>): Promise<JobSearchCounts>;
}

/** When a job finished: completedAt, cancelledAt, or erroredAt with no retry scheduled; `undefined` while it is not final. */
export const finishedAt = (v: JobView): string | undefined =>
  v.status === 'completed'
    ? v.completedAt
    : v.status === 'cancelled'
      ? v.cancelledAt
      : v.status === 'errored' && v.retryAt === undefined
        ? v.erroredAt
        : undefined;

/** The console's status of a view. */
export const searchStatusOf = (v: Pick<JobView, 'status' | 'retryAt'>): Exclude<SearchStatus, 'errored'> =>
  v.status === 'errored' ? erroredSplitOf(v) : v.status;

/** Whether a view matches a search's filters (all of them, or all but the status). */
export const matchesSearch = (v: JobView, s: JobSearch, withStatus = true): boolean => {
  if (withStatus && s.status !== undefined) {
    if (s.status === 'awaiting_retry' || s.status === 'failed') {
      if (v.status !== 'errored' || searchStatusOf(v) !== s.status) return false;
    } else if (v.status !== s.status) return false;
  }
  if (s.jobId !== undefined && v.jobId !== s.jobId) return false;
  if (s.jobIdPrefix !== undefined && !v.jobId.startsWith(s.jobIdPrefix)) return false;
  if (s.workerName !== undefined && v.workerName !== s.workerName) return false;
  if (s.queue !== undefined && v.queue !== s.queue) return false;
  const enqueued = Date.parse(v.enqueuedAt);
  if (s.enqueuedSince !== undefined && !(enqueued >= s.enqueuedSince)) return false;
  if (s.enqueuedUntil !== undefined && !(enqueued < s.enqueuedUntil)) return false;
  if (s.finishedSince !== undefined || s.finishedUntil !== undefined) {
    const f = finishedAt(v);
    if (f === undefined) return false;
    const ms = Date.parse(f);
    if (s.finishedSince !== undefined && !(ms >= s.finishedSince)) return false;
    if (s.finishedUntil !== undefined && !(ms < s.finishedUntil)) return false;
  }
  return true;
};

/** Zero of every counted status. */
export const emptyCounts = (): Record<Exclude<SearchStatus, 'errored'>, number> => ({
  awaiting: 0,
  initial: 0,
  in_progress: 0,
  awaiting_retry: 0,
  failed: 0,
  completed: 0,
  cancelled: 0,
});

/**
 * A console cursor: which way to read (`after`: the page that follows in the search's order; `before`: the one
 * that precedes it) and the position, which the read side defines (SQLite: enqueue ms and partition; EventStoreDB:
 * an index revision). It also holds the order it was made for, so a cursor is not reused under the other order.
 */
export type SearchCursor = {
  readonly way: 'after' | 'before';
  readonly oldestFirst: boolean;
  readonly key: readonly [number, string];
};

const CursorCodec = t.tuple([t.literal('s'), t.union([t.literal('after'), t.literal('before')]), t.boolean, t.number, t.string]);

export const encodeSearchCursor = (c: SearchCursor): string => encodeCursor(['s', c.way, c.oldestFirst, c.key[0], c.key[1]]);

/** Decodes a console cursor; throws `InvalidCursor` for anything else, or one made for the other order. */
export const decodeSearchCursor = (cursor: string, oldestFirst: boolean): SearchCursor => {
  const [, way, order, n, s] = decodeCursor(CursorCodec, cursor);
  if (order !== oldestFirst) return decodeCursor(t.never, cursor);
  return { way, oldestFirst: order, key: [n, s] };
};

/** The time rules of a search: `since` before `until`. Throws a `TypeError` that says what is wrong. */
export const checkSearch = (s: JobSearch): void => {
  const pairs = [
    ['enqueuedSince', 'enqueuedUntil'],
    ['finishedSince', 'finishedUntil'],
  ] as const;
  for (const [a, b] of pairs) {
    const x = s[a];
    const y = s[b];
    if (x !== undefined && !Number.isFinite(x)) throw new TypeError(`${a} is not a time`);
    if (y !== undefined && !Number.isFinite(y)) throw new TypeError(`${b} is not a time`);
    if (x !== undefined && y !== undefined && x >= y)
      throw new TypeError(`${a} (${new Date(x).toISOString()}) must be before ${b} (${new Date(y).toISOString()})`);
  }
};
