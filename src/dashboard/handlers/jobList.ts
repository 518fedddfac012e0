import { sendHtml, sendJson } from '../http.js';
import { listJobs } from '../listJobs.js';
import { jobListPage } from '../pages.js';
import { checkText, parseListStatus } from '../requests.js';
import type { RouteOf } from '../routes.js';
import type { Handler } from './handler.js';

/** `/jobs` and `/api/jobs`: a page of jobs by status, filtered by worker, after a cursor. */
export const handleJobList: Handler<RouteOf<'list' | 'apiList'>> = async ({ queries, live, context, pageSize }, { res, url, route }) => {
  const status = parseListStatus(url.searchParams.get('status'));
  const worker = checkText('worker', url.searchParams.get('worker') ?? undefined, 200);
  const after = url.searchParams.get('after') ?? undefined;
  const page = await listJobs(queries, {
    status,
    limit: pageSize,
    ...(worker !== undefined ? { worker } : {}),
    ...(after !== undefined && after !== '' ? { after } : {}),
  });
  if (route.kind === 'apiList') return sendJson(res, 200, page);
  const counts = live.overview().counts;
  return sendHtml(
    res,
    200,
    jobListPage(context(true), {
      status,
      workers: live.workerNames(),
      counts,
      jobs: page.jobs,
      first: after === undefined || after === '',
      ...(worker !== undefined ? { worker } : {}),
      ...(page.next !== undefined ? { next: page.next } : {}),
    }),
  );
};
