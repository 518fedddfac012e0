import type { JobView } from '../job/index.js';
import type { ProjectionQueries } from '../projections/index.js';
import { statusOf, type ListStatus } from './pages.js';

/** One page of a dashboard list. */
export interface ListPage {
  readonly jobs: readonly JobView[];
  /** The cursor of the next page (a `listJobViews` cursor); absent on the last page. */
  readonly next?: string;
}

/** How many views one page may look through to fill itself (for the lists `listJobViews` cannot filter: awaiting retry, failed). */
export const maxScannedPerPage = 5_000;

/**
 * A page of job views by dashboard status, newest enqueued first. `initial`,
 * `in_progress`, `completed`, `cancelled` and `errored` map to
 * `listJobViews`; `awaiting_retry` and `failed` read `errored` views and keep
 * those with (without) a retry scheduled, asking each time for no more views
 * than the page still lacks, so that the cursor of the last read page points
 * exactly after the last view shown.
 */
export const listJobs = async (
  queries: Pick<ProjectionQueries, 'listJobViews'>,
  filter: { readonly status: ListStatus; readonly worker?: string; readonly after?: string; readonly limit: number },
): Promise<ListPage> => {
  const byWorker = filter.worker !== undefined ? { workerName: filter.worker } : {};
  if (filter.status !== 'awaiting_retry' && filter.status !== 'failed') {
    const page = await queries.listJobViews({
      limit: filter.limit,
      ...byWorker,
      ...(filter.status !== 'all' ? { status: filter.status } : {}),
      ...(filter.after !== undefined ? { after: filter.after } : {}),
    });
    return page.next !== undefined ? { jobs: page.jobs, next: page.next } : { jobs: page.jobs };
  }
  const jobs: JobView[] = [];
  let after = filter.after;
  let scanned = 0;
  do {
    const page = await queries.listJobViews({
      status: 'errored',
      limit: filter.limit - jobs.length,
      ...byWorker,
      ...(after !== undefined ? { after } : {}),
    });
    scanned += page.jobs.length;
    for (const j of page.jobs) if (statusOf(j) === filter.status) jobs.push(j);
    after = page.next;
  } while (after !== undefined && jobs.length < filter.limit && scanned < maxScannedPerPage);
  return after !== undefined ? { jobs, next: after } : { jobs };
};
