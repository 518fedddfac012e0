import * as t from 'io-ts';
import { jobIdPattern, jobIdRule } from '../../job/index.js';
import { InvalidCursor, type JobSearch } from '../../projections/index.js';
import { parseConsoleQuery, toSearch } from '../console.js';
import { HttpError, sendJson } from '../http.js';
import { checkText } from '../requests.js';
import type { RouteOf } from '../routes.js';
import { authorizeAction } from './action.js';
import type { Handler } from './handler.js';

/** Most jobs one bulk action acts on (a selection, or every job matching a filter). */
export const maxBulkJobs = 10_000;
/** Most ids a selection posts. */
export const maxSelectedJobs = 1_000;

/**
 * The body of a bulk action: the selected ids, or the console's filter (its URL parameters) with the number of
 * jobs the user confirmed (`expected`; `atLeast` when the count shown was a lower bound); plus who and why.
 */
export const BulkBody = t.exact(
  t.partial({
    by: t.string,
    reason: t.string,
    token: t.string,
    csrf: t.string,
    jobIds: t.array(t.string),
    filter: t.record(t.string, t.string),
    expected: t.number,
    atLeast: t.boolean,
  }),
  'BulkBody',
);
export type BulkBody = t.TypeOf<typeof BulkBody>;

/** One job's outcome as the console reports it: `done` (retried, cancelled or purged; a running job's cancel requested) or `refused` with the reason. */
export interface BulkJobOutcome {
  readonly jobId: string;
  readonly outcome: 'done' | 'refused';
  /** What was done: `retried`, `cancelled`, `purged`. */
  readonly done?: string;
  readonly reason?: string;
}

/** Every job id a search matches, page by page (1000 a page), at most `max + 1` (one more says "too many"). */
export const matchingIds = async (
  searchJobs: (s: JobSearch) => Promise<{ readonly jobs: readonly { readonly jobId: string }[]; readonly next?: string }>,
  search: JobSearch,
  max: number,
): Promise<string[]> => {
  const ids: string[] = [];
  let cursor: string | undefined;
  const { cursor: _ignored, ...base } = search;
  do {
    const page = await searchJobs({ ...base, limit: 1000, ...(cursor !== undefined ? { cursor } : {}) });
    for (const j of page.jobs) ids.push(j.jobId);
    cursor = page.next;
  } while (cursor !== undefined && ids.length <= max);
  return ids.slice(0, max + 1);
};

/**
 * `POST /api/bulk/retry|cancel|purge`: the engine's bulk function over the selected ids or every job matching the
 * console's filter, checked as every action is (same origin, credential, CSRF). Answers each job's outcome.
 */
export const handleBulkAction: Handler<RouteOf<'bulkAction'>> = async (deps, { req, res, route }) => {
  const { engine, queries, log, pageSize } = deps;
  // A selection of ids may be larger than one action's body.
  const body = await authorizeAction({ ...deps, maxBodyBytes: Math.max(deps.maxBodyBytes, 256 * 1024) }, req, BulkBody);
  const by = checkText('by', body.by, 100) ?? 'dashboard';
  const reason = checkText('reason', body.reason, 500);
  let ids: readonly string[];
  if (body.jobIds !== undefined) {
    if (body.filter !== undefined) throw new HttpError(400, 'send "jobIds" or "filter", not both');
    if (body.jobIds.length === 0) throw new HttpError(400, '"jobIds" is empty: select at least one job');
    if (body.jobIds.length > maxSelectedJobs)
      throw new HttpError(400, `${body.jobIds.length} jobs selected; at most ${maxSelectedJobs} at once (act on a filter for more)`);
    for (const id of body.jobIds)
      if (!jobIdPattern.test(id)) throw new HttpError(400, `not a job id: ${JSON.stringify(id.slice(0, 140))}; a job id is ${jobIdRule}`);
    ids = [...new Set(body.jobIds)];
  } else if (body.filter !== undefined) {
    if (queries.searchJobs === undefined) throw new HttpError(404, 'this read side cannot search jobs, so it cannot act on a filter');
    const now = Date.now();
    const search = toSearch(parseConsoleQuery(new URLSearchParams(body.filter), pageSize, now), now);
    let found: string[];
    try {
      found = await matchingIds((s) => (queries.searchJobs as NonNullable<typeof queries.searchJobs>)(s), search, maxBulkJobs);
    } catch (error) {
      if (error instanceof InvalidCursor || error instanceof TypeError) throw new HttpError(400, error.message);
      throw error;
    }
    if (found.length > maxBulkJobs)
      throw new HttpError(400, `more than ${maxBulkJobs} jobs match this filter; narrow it (a time range, a worker) and act in parts`);
    if (body.expected !== undefined && body.atLeast !== true && found.length > body.expected)
      throw new HttpError(
        409,
        `${found.length} jobs match this filter now, more than the ${body.expected} you confirmed; reload the page and confirm again`,
      );
    ids = found;
  } else throw new HttpError(400, 'send "jobIds" (the selected jobs) or "filter" (the list\'s URL parameters)');

  const options = { by, ...(reason !== undefined ? { reason } : {}) };
  let outcomes: readonly { readonly jobId?: string; readonly outcome: string; readonly reason?: string }[];
  if (ids.length === 0) outcomes = [];
  else if (route.action === 'retry') {
    if (engine.retryMany === undefined) throw new HttpError(404, 'this dashboard cannot retry jobs in bulk');
    outcomes = (await engine.retryMany(ids, { by })).outcomes;
  } else if (route.action === 'cancel') {
    if (engine.cancelMany === undefined) throw new HttpError(404, 'this dashboard cannot cancel jobs in bulk');
    outcomes = (await engine.cancelMany(ids, options)).outcomes;
  } else {
    if (engine.purge === undefined) throw new HttpError(404, 'this dashboard cannot purge jobs');
    outcomes = (await engine.purge(ids, options)).outcomes;
  }
  const report: BulkJobOutcome[] = outcomes.map((o, i) => {
    const jobId = o.jobId ?? ids[i] ?? '';
    return o.outcome === 'refused'
      ? { jobId, outcome: 'refused', reason: o.reason ?? 'refused' }
      : { jobId, outcome: 'done', done: o.outcome };
  });
  const done = report.filter((o) => o.outcome === 'done').length;
  log.info(
    {
      action: route.action,
      by,
      jobs: ids.length,
      done,
      refused: report.length - done,
      scope: body.jobIds !== undefined ? 'selected' : 'filter',
    },
    'dashboard bulk action',
  );
  sendJson(res, 200, { ok: true, action: route.action, done, refused: report.length - done, outcomes: report });
};
