import type { JobView } from '../../job/index.js';
import type { ProjectionQueries } from '../../projections/index.js';
import { matchesStatusFilter, storedStatusOf, type StatusFilter } from '../../present/index.js';

/** One page of `jobtrail list`. */
export interface ListPage {
  readonly jobs: readonly JobView[];
  /** A `listJobViews` cursor pointing right after the last job of `jobs`; absent when no job is left. */
  readonly next?: string;
}

/**
 * A page of job views by the CLI's status filter, newest enqueued first, on the keyset cursors of
 * `listJobViews` (embedded: enqueue time and job id; EventStoreDB: the index stream's revision), so a page
 * continued with `after` neither repeats nor skips a job when jobs are enqueued in between.
 *
 * `failed` and `awaiting_retry` are not stored statuses: they read `errored` views and keep those without
 * (with) a retry planned, each time asking for no more views than the page still lacks, so that every view
 * read is either shown or passed over and the cursor of the last read page points right after the last one shown.
 */
export const listPage = async (
  queries: Pick<ProjectionQueries, 'listJobViews'>,
  filter: { readonly status?: StatusFilter; readonly worker?: string; readonly after?: string; readonly limit: number },
): Promise<ListPage> => {
  const jobs: JobView[] = [];
  let after = filter.after;
  do {
    const page = await queries.listJobViews({
      limit: filter.limit - jobs.length,
      ...(filter.status !== undefined ? { status: storedStatusOf(filter.status) } : {}),
      ...(filter.worker !== undefined ? { workerName: filter.worker } : {}),
      ...(after !== undefined ? { after } : {}),
    });
    for (const j of page.jobs) if (filter.status === undefined || matchesStatusFilter(filter.status, j)) jobs.push(j);
    after = page.next;
  } while (after !== undefined && jobs.length < filter.limit);
  return after !== undefined ? { jobs, next: after } : { jobs };
};
