import type { JobView } from '../job/index.js';
import { ProjectionNames } from './projectionFiles.js';
import {
  checkSearch,
  decodeSearchCursor,
  emptyCounts,
  encodeSearchCursor,
  type JobSearch,
  type JobSearchCounts,
  type JobSearchPage,
  type JobSearchQueries,
  type SearchCursor,
} from './jobSearch.js';
import { pageSize, toJobView } from './projectionQueries.js';
import type { SqliteDatabase } from './projectionTables.js';

// The console's search on the embedded store: one SQL query over projection_job_views (the queryable columns of
// job-view's states, indexed by status, worker and enqueue time) joined with the states. Paging is by keyset on
// (enqueued_ms, partition), both ways, never by OFFSET. Two filters have no column and read the state with
// json_extract: awaiting-retry vs failed (`retryAt`), and the finished time.

/** A statement's text and its named parameters. */
export interface SqlQuery {
  readonly sql: string;
  readonly params: Readonly<Record<string, string | number>>;
}

const retryAt = "json_extract(p.state, '$.retryAt')";
/** When a job finished (ISO text), as `finishedAt` in jobSearch.ts. */
const finishedSql = `CASE v.status WHEN 'completed' THEN json_extract(p.state, '$.completedAt') WHEN 'cancelled' THEN json_extract(p.state, '$.cancelledAt') WHEN 'errored' THEN CASE WHEN ${retryAt} IS NULL THEN json_extract(p.state, '$.erroredAt') END END`;

/** Every job id character sorts below this (job ids are [A-Za-z0-9._:@-]): `prefix` ≤ id < `prefix + high` is the prefix range. */
const high = '\u007f';

/** The WHERE terms of a search's filters; `needsState` when one reads the state (the join with projection_partitions). */
export const filterTerms = (
  s: JobSearch,
  withStatus: boolean,
): { readonly terms: readonly string[]; readonly params: Record<string, string | number>; readonly needsState: boolean } => {
  const terms: string[] = [];
  const params: Record<string, string | number> = {};
  let needsState = false;
  if (withStatus && s.status !== undefined) {
    if (s.status === 'awaiting_retry' || s.status === 'failed') {
      terms.push(`v.status = 'errored' AND ${retryAt} IS ${s.status === 'failed' ? '' : 'NOT '}NULL`);
      needsState = true;
    } else {
      terms.push('v.status = @status');
      params['status'] = s.status;
    }
  }
  if (s.jobId !== undefined) {
    terms.push('v.partition = @partition');
    params['partition'] = `job-${s.jobId}`;
  }
  if (s.jobIdPrefix !== undefined) {
    // A range of the primary key, not a LIKE (which is case-insensitive and treats _ as a wildcard).
    terms.push('v.partition >= @prefixLow AND v.partition < @prefixHigh');
    params['prefixLow'] = `job-${s.jobIdPrefix}`;
    params['prefixHigh'] = `job-${s.jobIdPrefix}${high}`;
  }
  if (s.workerName !== undefined) {
    terms.push('v.worker_name = @workerName');
    params['workerName'] = s.workerName;
  }
  if (s.queue !== undefined) {
    terms.push('v.queue = @queue');
    params['queue'] = s.queue;
  }
  if (s.enqueuedSince !== undefined) {
    terms.push('v.enqueued_ms >= @enqueuedSince');
    params['enqueuedSince'] = s.enqueuedSince;
  }
  if (s.enqueuedUntil !== undefined) {
    terms.push('v.enqueued_ms < @enqueuedUntil');
    params['enqueuedUntil'] = s.enqueuedUntil;
  }
  // Times are stored as toISOString() text, which sorts as time does.
  if (s.finishedSince !== undefined) {
    terms.push(`(${finishedSql}) >= @finishedSince`);
    params['finishedSince'] = new Date(s.finishedSince).toISOString();
    needsState = true;
  }
  if (s.finishedUntil !== undefined) {
    terms.push(`(${finishedSql}) < @finishedUntil`);
    params['finishedUntil'] = new Date(s.finishedUntil).toISOString();
    needsState = true;
  }
  return { terms, params, needsState };
};

/**
 * The query of one page: the rows after (or before) the cursor's key in the search's order, `limit + 1` of them
 * (the extra one says whether there is more). A `before` page is read in the opposite order and turned around by
 * the caller.
 */
export const pageQuery = (s: JobSearch, cursor: SearchCursor | undefined, limit: number): SqlQuery => {
  const { terms, params } = filterTerms(s, true);
  const oldestFirst = s.oldestFirst === true;
  // Read ascending for oldest-first pages, and for the page before a newest-first one.
  const ascending = oldestFirst !== (cursor?.way === 'before');
  const all = [...terms];
  const p: Record<string, string | number> = { ...params, projection: ProjectionNames.jobView, limit: limit + 1 };
  if (cursor !== undefined) {
    all.push(`(v.enqueued_ms, v.partition) ${ascending ? '>' : '<'} (@keyMs, @keyPartition)`);
    p['keyMs'] = cursor.key[0];
    p['keyPartition'] = cursor.key[1];
  }
  const dir = ascending ? 'ASC' : 'DESC';
  return {
    sql: `SELECT v.partition AS partition, v.enqueued_ms AS ms, p.state AS state
FROM projection_job_views v JOIN projection_partitions p ON p.projection = @projection AND p.partition = v.partition
${all.length > 0 ? `WHERE ${all.join(' AND ')}` : ''}
ORDER BY v.enqueued_ms ${dir}, v.partition ${dir}
LIMIT @limit`,
    params: p,
  };
};

/** The count queries: per status from the columns, and errored jobs with a retry scheduled from the states. */
export const countQueries = (s: JobSearch): { readonly byStatus: SqlQuery; readonly awaitingRetry: SqlQuery } => {
  const { terms, params, needsState } = filterTerms(s, false);
  const join = 'JOIN projection_partitions p ON p.projection = @projection AND p.partition = v.partition';
  const where = (extra: readonly string[]) => {
    const all = [...terms, ...extra];
    return all.length > 0 ? `WHERE ${all.join(' AND ')}` : '';
  };
  return {
    byStatus: {
      sql: `SELECT v.status AS status, count(*) AS n FROM projection_job_views v ${needsState ? join : ''} ${where([])} GROUP BY v.status`,
      params: needsState ? { ...params, projection: ProjectionNames.jobView } : params,
    },
    awaitingRetry: {
      sql: `SELECT count(*) AS n FROM projection_job_views v ${join} ${where(["v.status = 'errored'", `${retryAt} IS NOT NULL`])}`,
      params: { ...params, projection: ProjectionNames.jobView },
    },
  };
};

type Row = { partition: string; ms: number; state: string | null };

/** The console's queries on the embedded store's tables. */
export const makeSqliteJobSearch = (database: SqliteDatabase): JobSearchQueries => {
  const statements = new Map<string, ReturnType<SqliteDatabase['prepare']>>();
  const run = <R>(q: SqlQuery): R[] => {
    let st = statements.get(q.sql);
    if (st === undefined) {
      st = database.prepare(q.sql);
      if (statements.size > 200) statements.clear();
      statements.set(q.sql, st);
    }
    return st.all(q.params) as R[];
  };

  return {
    searchJobs: async (s: JobSearch): Promise<JobSearchPage> => {
      checkSearch(s);
      const oldestFirst = s.oldestFirst === true;
      const limit = pageSize(s.limit);
      const cursor = s.cursor !== undefined ? decodeSearchCursor(s.cursor, oldestFirst) : undefined;
      const rows = run<Row>(pageQuery(s, cursor, limit));
      const more = rows.length > limit;
      const read = rows.slice(0, limit);
      const shown = cursor?.way === 'before' ? read.reverse() : read;
      const jobs = shown.flatMap((r) => {
        const v = toJobView(r.partition, r.state === null ? undefined : (JSON.parse(r.state) as unknown));
        return v !== undefined ? [v] : [];
      }) satisfies JobView[];
      const first = shown[0];
      const last = shown[shown.length - 1];
      const at = (way: 'after' | 'before', r: Row | undefined): string | undefined =>
        r === undefined ? undefined : encodeSearchCursor({ way, oldestFirst, key: [r.ms, r.partition] });
      // Past either end of an empty page: back to where the cursor was.
      const edge = cursor !== undefined ? { ms: cursor.key[0], partition: cursor.key[1], state: null } : undefined;
      let next: string | undefined;
      let prev: string | undefined;
      if (cursor?.way === 'before') {
        prev = more ? at('before', first) : undefined;
        next = at('after', last ?? edge);
      } else {
        next = more ? at('after', last) : undefined;
        prev = cursor !== undefined ? at('before', first ?? edge) : undefined;
      }
      return { jobs, ...(next !== undefined ? { next } : {}), ...(prev !== undefined ? { prev } : {}) };
    },

    countJobs: async (s): Promise<JobSearchCounts> => {
      checkSearch(s);
      const q = countQueries(s);
      const counts = emptyCounts();
      let total = 0;
      for (const r of run<{ status: string; n: number }>(q.byStatus)) {
        total += r.n;
        if (r.status === 'errored') counts.failed += r.n;
        else if (Object.hasOwn(counts, r.status)) counts[r.status as keyof typeof counts] += r.n;
      }
      const retrying = run<{ n: number }>(q.awaitingRetry)[0]?.n ?? 0;
      counts.awaiting_retry = retrying;
      counts.failed -= retrying;
      return { counts, total, complete: true };
    },
  };
};
