import type { ReadSide } from '../backends/index.js';
import { ErrorCodes, isJobtrailError } from '../errors/index.js';
import type { EventStore } from '../eventStore/index.js';
import { erroredSplits, inStatus, JobStatuses, storedStatusOf, type ErroredSplit, type JobStatus, type JobView } from '../job/index.js';
import type { ConductorDeps } from './dispatch.js';
import { jobViewPages } from './listJobs.js';
import { cancelJob, retryJob, type ActionOptions } from './manualActions.js';

// Bulk actions (docs/retention.md#bulk-actions): retry, cancel and purge take job ids or a filter, act on each job
// on its own (re-checked against its stream: the list only nominates), and say per job what they did.

/** Which jobs a bulk action nominates, from the read side's list (`job-view`). Every field narrows. */
export interface JobsFilter {
  /**
   * A stored status, or the words the CLI and the dashboard use for `errored`: `failed` (no retry left) and
   * `awaiting_retry` (a retry is planned).
   */
  readonly status?: JobStatus | ErroredSplit;
  readonly workerName?: string;
  readonly queue?: string;
  /** Enqueued at or after (ISO-8601 or a Date). */
  readonly since?: string | Date;
  /** Enqueued before (ISO-8601 or a Date). */
  readonly until?: string | Date;
  /** Ended (completedAt, erroredAt, cancelledAt) at least this long ago, in ms; a job not ended does not match. */
  readonly olderThanMs?: number;
  /** Most jobs acted on. Default: 1000; at most 100 000. */
  readonly limit?: number;
}

/** Job ids, or a filter. */
export type JobSelection = readonly string[] | JobsFilter;

/** What a bulk action did to one job. */
export interface BulkOutcome {
  readonly jobId: string;
  /** `retried`, `cancelled`, `purged` (or `would purge` in a dry run); `refused` with the reason. */
  readonly outcome: 'retried' | 'cancelled' | 'purged' | 'would purge' | 'refused';
  /** Why it was refused. */
  readonly reason?: string;
}

/** A bulk action's report: one outcome per job, in the order acted on. */
export interface BulkReport {
  readonly action: 'retry' | 'cancel' | 'purge';
  readonly outcomes: readonly BulkOutcome[];
  /** Jobs the action was done to (or would be, in a dry run). */
  readonly done: number;
  readonly refused: number;
  readonly dryRun?: boolean;
}

export const defaultBulkLimit = 1000;
export const maxBulkLimit = 100_000;

export type BulkDeps = ConductorDeps & { readonly store: EventStore };

const time = (value: string | Date | undefined, what: string): number | undefined => {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (Number.isNaN(ms))
    throw new TypeError(`${what}: ${JSON.stringify(value)} is not a time; give an ISO-8601 time, as 2026-05-01T12:00:00Z`);
  return ms;
};

/** When the job ended (`completedAt`, `erroredAt` with no retry, `cancelledAt`); `undefined` while it is not final. */
export const endedAt = (view: JobView): string | undefined => {
  if (view.status === 'completed') return view.completedAt;
  if (view.status === 'cancelled') return view.cancelledAt;
  if (view.status === 'errored' && view.retryAt === undefined) return view.erroredAt;
  return undefined;
};

/** Checks a filter; throws a `TypeError` naming the bad field. */
export const checkJobsFilter = (filter: JobsFilter): void => {
  if (
    filter.status !== undefined &&
    !Object.hasOwn(JobStatuses, filter.status) &&
    !(erroredSplits as readonly string[]).includes(filter.status)
  )
    throw new TypeError(
      `status: ${JSON.stringify(filter.status)} is not a status; one of ${[...Object.keys(JobStatuses), ...erroredSplits].join(', ')}`,
    );
  time(filter.since, 'since');
  time(filter.until, 'until');
  if (filter.olderThanMs !== undefined && !(Number.isFinite(filter.olderThanMs) && filter.olderThanMs >= 0))
    throw new TypeError(`olderThanMs: ${String(filter.olderThanMs)} is not a duration in ms (0 or more)`);
  if (filter.limit !== undefined && !(Number.isInteger(filter.limit) && filter.limit >= 1 && filter.limit <= maxBulkLimit))
    throw new TypeError(`limit: ${String(filter.limit)} is not a whole number from 1 to ${maxBulkLimit}`);
};

/** Whether `view` matches the parts of `filter` the list query does not apply. */
export const matchesFilter = (view: JobView, filter: JobsFilter, now: number): boolean => {
  if (filter.status !== undefined && !inStatus(filter.status, view)) return false;
  if (filter.workerName !== undefined && view.workerName !== filter.workerName) return false;
  if (filter.queue !== undefined && view.queue !== filter.queue) return false;
  const enqueued = Date.parse(view.enqueuedAt);
  const since = time(filter.since, 'since');
  const until = time(filter.until, 'until');
  if (since !== undefined && enqueued < since) return false;
  if (until !== undefined && enqueued >= until) return false;
  if (filter.olderThanMs !== undefined) {
    const end = endedAt(view);
    if (end === undefined || now - Date.parse(end) < filter.olderThanMs) return false;
  }
  return true;
};

/** The ids a filter nominates, from the read side's list, oldest enqueued first where the store can. */
export const selectJobIds = async (readSide: ReadSide, filter: JobsFilter, now: number): Promise<readonly string[]> => {
  checkJobsFilter(filter);
  const limit = filter.limit ?? defaultBulkLimit;
  const ids: string[] = [];
  // The list is paged by the status and worker it can filter on; the rest is checked here, so more is scanned.
  for await (const page of jobViewPages(readSide.queries, {
    limit: maxBulkLimit * 10,
    ...(filter.status !== undefined ? { status: storedStatusOf(filter.status) } : {}),
    ...(filter.workerName !== undefined ? { workerName: filter.workerName } : {}),
  })) {
    for (const view of page) {
      if (!matchesFilter(view, filter, now)) continue;
      ids.push(view.jobId);
      if (ids.length >= limit) return ids;
    }
  }
  return ids;
};

/** The ids of a selection: the ids given (each once, in order), or what the filter nominates. */
export const resolveSelection = async (
  readSide: () => Promise<ReadSide>,
  selection: JobSelection,
  now: number,
): Promise<readonly string[]> => {
  if (Array.isArray(selection)) {
    for (const id of selection as readonly unknown[])
      if (typeof id !== 'string' || id === '') throw new TypeError(`a job id must be a non-empty string; got ${JSON.stringify(id)}`);
    return [...new Set(selection as readonly string[])];
  }
  return selectJobIds(await readSide(), selection as JobsFilter, now);
};

/** A refusal's reason: what the engine said, without a code prefix. */
export const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Whether to report a failure per job (the job's own refusal) or to stop the whole action (the store is down). */
const isPerJob = (error: unknown): boolean =>
  isJobtrailError(error, ErrorCodes.TransitionRejected) || isJobtrailError(error, ErrorCodes.JobNotFound) || error instanceof TypeError;

const report = (action: BulkReport['action'], outcomes: readonly BulkOutcome[], dryRun?: boolean): BulkReport => ({
  action,
  outcomes,
  done: outcomes.filter((o) => o.outcome !== 'refused').length,
  refused: outcomes.filter((o) => o.outcome === 'refused').length,
  ...(dryRun ? { dryRun: true } : {}),
});

const eachJob = async (ids: readonly string[], act: (jobId: string) => Promise<BulkOutcome['outcome']>): Promise<BulkOutcome[]> => {
  const outcomes: BulkOutcome[] = [];
  for (const jobId of ids) {
    try {
      outcomes.push({ jobId, outcome: await act(jobId) });
    } catch (error) {
      if (!isPerJob(error)) throw error;
      outcomes.push({ jobId, outcome: 'refused', reason: reasonOf(error) });
    }
  }
  return outcomes;
};

/** `retry(id)` for each selected job (the engine's own retry, one job at a time), with per-job outcomes. */
export const retryMany = async (
  deps: BulkDeps,
  readSide: () => Promise<ReadSide>,
  selection: JobSelection,
  options: ActionOptions & { readonly retry?: (jobId: string, options: ActionOptions) => Promise<unknown> } = {},
): Promise<BulkReport> => {
  const ids = await resolveSelection(readSide, selection, deps.now().getTime());
  const { retry = (id: string, o: ActionOptions) => retryJob(deps, id, o), ...actionOptions } = options;
  return report(
    'retry',
    await eachJob(ids, async (id) => {
      await retry(id, actionOptions);
      return 'retried';
    }),
  );
};

/**
 * `cancel(id)` for each selected job, with per-job outcomes. Each goes through the engine's own cancel, so what
 * cancel does to a job in each status (e.g. a running one) is the same here as for one job.
 */
export const cancelMany = async (
  deps: BulkDeps,
  readSide: () => Promise<ReadSide>,
  selection: JobSelection,
  options: ActionOptions & { readonly cancel?: (jobId: string, options: ActionOptions) => Promise<unknown> } = {},
): Promise<BulkReport> => {
  const ids = await resolveSelection(readSide, selection, deps.now().getTime());
  const { cancel = (id: string, o: ActionOptions) => cancelJob(deps, id, o), ...actionOptions } = options;
  return report(
    'cancel',
    await eachJob(ids, async (id) => {
      await cancel(id, actionOptions);
      return 'cancelled';
    }),
  );
};

export const bulkReport = report;
