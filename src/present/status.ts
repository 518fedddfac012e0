// The words people read for a job's status, shared by the CLI and the dashboard (issue 23).
// The stored status (`JobView.status`, the event names) stays as it is: `errored` is split here,
// for presentation and filtering only, into "awaiting retry" (a retry is planned) and "failed"
// (no attempt is left, or the error was not retryable).
import { erroredSplitOf, inStatus, storedStatusOf as storedOf, type JobStatus, type JobView } from '../job/index.js';

/** A job's status as the CLI prints it and the dashboard names its lists: `errored` split in two. */
export const DisplayStatuses = {
  awaiting: 'awaiting',
  initial: 'initial',
  in_progress: 'in_progress',
  awaiting_retry: 'awaiting_retry',
  failed: 'failed',
  completed: 'completed',
  cancelled: 'cancelled',
} as const;
export type DisplayStatus = (typeof DisplayStatuses)[keyof typeof DisplayStatuses];

/** The display status of a view: `errored` with a retry planned is `awaiting_retry`, without one `failed`. */
export const displayStatus = (v: Pick<JobView, 'status' | 'retryAt'>): DisplayStatus =>
  v.status === 'errored' ? erroredSplitOf(v) : v.status;

/** The label of a display status for people, as the dashboard's tabs and badges show it. */
export const statusLabels: Readonly<Record<DisplayStatus, string>> = {
  awaiting: 'Awaiting',
  initial: 'Enqueued',
  in_progress: 'In progress',
  awaiting_retry: 'Awaiting retry',
  failed: 'Failed',
  completed: 'Completed',
  cancelled: 'Cancelled',
};

/** The label of a view's status ("Failed", "Awaiting retry", …). */
export const statusLabel = (v: Pick<JobView, 'status' | 'retryAt'>): string => statusLabels[displayStatus(v)];

/**
 * What `--status` takes: a display status, `errored` (an alias for both `awaiting_retry` and `failed`, the stored
 * name), and the spellings with a hyphen (`awaiting-retry`, `in-progress`).
 */
export type StatusFilter = DisplayStatus | 'errored';

/** The values `--status` lists in its help and errors, in the order a job moves through them. */
export const statusFilterChoices: readonly string[] = [...Object.values(DisplayStatuses), 'errored'];

/** Parses a `--status` value (case-insensitive; `-` or `_`); `undefined` when it is none of `statusFilterChoices`. */
export const parseStatusFilter = (text: string): StatusFilter | undefined => {
  const s = text.trim().toLowerCase().replace(/-/g, '_');
  return s === 'errored' || (Object.values(DisplayStatuses) as string[]).includes(s) ? (s as StatusFilter) : undefined;
};

/** The stored status a filter reads (`awaiting_retry` and `failed` read `errored` views and keep some). */
export const storedStatusOf = (f: StatusFilter): JobStatus => storedOf(f);

/** Whether a view passes a filter (only `awaiting_retry` and `failed` look beyond the stored status). */
export const matchesStatusFilter = (f: StatusFilter, v: Pick<JobView, 'status' | 'retryAt'>): boolean => inStatus(f, v);
