import { InvalidCursor, type JobSearch } from '../../projections/index.js';
import { consolePage, hasFilters, parseConsoleQuery, toSearch } from '../console.js';
import { HttpError, sendHtml, sendJson } from '../http.js';
import { listJobs } from '../listJobs.js';
import type { RouteOf } from '../routes.js';
import type { Handler } from './handler.js';

/** A search without its status, cursor, page size and order: what the tab counts count. */
const countable = (s: JobSearch): Omit<JobSearch, 'status' | 'cursor' | 'limit' | 'oldestFirst'> => {
  const { status: _status, cursor: _cursor, limit: _limit, oldestFirst: _oldestFirst, ...rest } = s;
  return rest;
};

/**
 * `/jobs` and `/api/jobs`: the console (docs/dashboard.md): a page of the jobs a search matches, its `next` and
 * `prev` cursors, and (on the page) the count of each status under the same filters.
 */
export const handleJobList: Handler<RouteOf<'list' | 'apiList'>> = async (
  { engine, queries, live, context, pageSize },
  { res, url, route },
) => {
  const now = Date.now();
  const query = parseConsoleQuery(url.searchParams, pageSize, now);
  if (queries.searchJobs === undefined) {
    // A read side without the search (a custom one): the status and worker lists of listJobViews.
    if (hasFilters({ ...query, worker: undefined }) || query.sort === 'oldest')
      throw new HttpError(400, 'this read side lists jobs by status and worker only (it has no searchJobs)');
    const page = await listJobs(queries, {
      status: query.status,
      limit: query.limit,
      ...(query.worker !== undefined ? { worker: query.worker } : {}),
      ...(query.cursor !== undefined ? { after: query.cursor } : {}),
    });
    if (route.kind === 'apiList') return sendJson(res, 200, page);
    return sendHtml(
      res,
      200,
      consolePage(context(true), {
        query,
        defaultLimit: pageSize,
        workers: live.workerNames(),
        queues: [],
        jobs: page.jobs,
        bulk: false,
        ...(page.next !== undefined ? { next: page.next } : {}),
      }),
    );
  }
  const search = toSearch(query, now);
  let page;
  try {
    page = await queries.searchJobs(search);
  } catch (error) {
    if (error instanceof InvalidCursor)
      throw new HttpError(400, `${error.message} (a cursor is only good for the search and order it came from)`);
    if (error instanceof TypeError) throw new HttpError(400, error.message);
    throw error;
  }
  if (route.kind === 'apiList') return sendJson(res, 200, page);
  // Without filters the overview's live counts are the tab counts; with filters, a count query.
  const counts = hasFilters(query)
    ? queries.countJobs !== undefined
      ? await queries.countJobs(countable(search))
      : undefined
    : (() => {
        const c = live.overview().counts;
        const { total, ...byStatus } = c;
        return { counts: byStatus, total, complete: true };
      })();
  // The queue box suggests the queues of the jobs shown (asking the engine for every queue costs reads per page).
  const queues = [...new Set(page.jobs.map((j) => j.queue))].sort();
  return sendHtml(
    res,
    200,
    consolePage(context(true), {
      query,
      defaultLimit: pageSize,
      workers: live.workerNames(),
      queues,
      jobs: page.jobs,
      bulk: engine.retryMany !== undefined && engine.cancelMany !== undefined,
      ...(counts !== undefined ? { counts } : {}),
      ...(page.next !== undefined ? { next: page.next } : {}),
      ...(page.prev !== undefined ? { prev: page.prev } : {}),
    }),
  );
};
