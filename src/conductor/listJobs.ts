import type { JobStatus, JobView } from '../job/index.js';
import type { ProjectionQueries } from '../projections/index.js';

export interface ListJobsFilter {
  readonly status?: JobStatus;
  readonly workerName?: string;
  /** Default: 100. */
  readonly limit?: number;
}

/** The pages of job views the `job-view` projection holds for `filter` (newest enqueued first), `limit` views in all at most. */
export async function* jobViewPages(
  queries: ProjectionQueries,
  filter: ListJobsFilter & { readonly limit: number },
): AsyncGenerator<readonly JobView[]> {
  let left = filter.limit;
  let after: string | undefined;
  do {
    const page = await queries.listJobViews({
      limit: Math.min(1000, left),
      ...(filter.status !== undefined ? { status: filter.status } : {}),
      ...(filter.workerName !== undefined ? { workerName: filter.workerName } : {}),
      ...(after !== undefined ? { after } : {}),
    });
    yield page.jobs;
    left -= page.jobs.length;
    after = page.next;
  } while (after !== undefined && left > 0);
}

/** Job views from the `job-view` projection, newest enqueued first, up to `limit`. */
export const listJobs = async (queries: ProjectionQueries, filter: ListJobsFilter = {}): Promise<readonly JobView[]> => {
  const out: JobView[] = [];
  for await (const page of jobViewPages(queries, { ...filter, limit: filter.limit ?? 100 })) out.push(...page);
  return out;
};
