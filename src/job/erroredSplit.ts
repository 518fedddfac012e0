import type { JobStatus, JobView } from './state.js';

// `errored` as people read it (the CLI, the dashboard, the bulk filters): `awaiting_retry` when a retry is planned,
// `failed` when none is left. The record keeps `errored`; this split is for reading and filtering only.

/** The two halves of `errored`. */
export type ErroredSplit = 'awaiting_retry' | 'failed';
export const erroredSplits: readonly ErroredSplit[] = ['awaiting_retry', 'failed'];

/** Which half of `errored` a view is in. */
export const erroredSplitOf = (v: Pick<JobView, 'retryAt'>): ErroredSplit => (v.retryAt !== undefined ? 'awaiting_retry' : 'failed');

/** The stored status a status or half of `errored` lists (`awaiting_retry` and `failed` list `errored`). */
export const storedStatusOf = (status: JobStatus | ErroredSplit): JobStatus =>
  status === 'awaiting_retry' || status === 'failed' ? 'errored' : status;

/** Whether a view is in `status`: a stored status, or a half of `errored`. */
export const inStatus = (status: JobStatus | ErroredSplit, v: Pick<JobView, 'status' | 'retryAt'>): boolean =>
  v.status === storedStatusOf(status) && (status === storedStatusOf(status) || erroredSplitOf(v) === status);
