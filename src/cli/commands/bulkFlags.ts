import { InvalidArgumentError, type Command } from 'commander';
import type { BulkReport, JobsFilter } from '../../conductor/index.js';
import { DurationError, parseDuration } from '../../config/index.js';
import { parseStatusFilter, statusFilterChoices, type StatusFilter } from '../../present/index.js';
import type { Io } from '../context.js';
import { UserError } from '../errors.js';

// The selection flags of the bulk commands (`retry`, `cancel`, `purge`: docs/retention.md#bulk-actions) and how they
// report: one line per job, then a summary; exit 1 when any job was refused.

export interface SelectionFlags {
  status?: StatusFilter;
  worker?: string;
  queue?: string;
  since?: string;
  until?: string;
  olderThan?: number;
  limit?: number;
}

const isoTime =
  (flag: string) =>
  (text: string): string => {
    if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(text) || Number.isNaN(Date.parse(text)))
      throw new InvalidArgumentError(
        `${flag} takes an ISO-8601 date or time, e.g. 2026-05-01 or 2026-05-01T12:00:00Z; got ${JSON.stringify(text)}`,
      );
    return text;
  };

export const parseDurationFlag =
  (flag: string) =>
  (text: string): number => {
    try {
      return parseDuration(text, flag);
    } catch (error) {
      if (error instanceof DurationError) throw new InvalidArgumentError(error.message);
      throw error;
    }
  };

// The words of `jobtrail list` and the dashboard (src/present/status.ts): `failed` and `awaiting_retry` (or
// `awaiting-retry`) split `errored`, which is still taken and means both.
const statusFlag =
  (allowed: readonly string[]) =>
  (text: string): StatusFilter => {
    const status = parseStatusFilter(text);
    if (status === undefined || !allowed.includes(status))
      throw new InvalidArgumentError(`--status takes one of ${allowed.join(', ')}; got ${JSON.stringify(text)}`);
    return status;
  };

const limitFlag = (text: string): number => {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 100_000)
    throw new InvalidArgumentError(`--limit takes a whole number from 1 to 100000; got ${JSON.stringify(text)}`);
  return n;
};

/** Adds the selection flags to a bulk command. */
export const selectionOptions = (
  command: Command,
  statuses: readonly StatusFilter[] = statusFilterChoices as readonly StatusFilter[],
): Command =>
  command
    .option('--status <status>', `only jobs in this status (${statuses.join(', ')})`, statusFlag(statuses))
    .option('--worker <name>', 'only jobs of this worker')
    .option('--queue <name>', 'only jobs of this queue')
    .option('--since <time>', 'only jobs enqueued at or after this ISO-8601 time', isoTime('--since'))
    .option('--until <time>', 'only jobs enqueued before this ISO-8601 time', isoTime('--until'))
    .option('--older-than <age>', 'only jobs that ended at least this long ago (30m, 12h, 7d)', parseDurationFlag('--older-than'))
    .option('--limit <n>', 'act on at most this many jobs [default 1000]', limitFlag);

/** Whether any selection flag was given. */
export const hasFilter = (f: SelectionFlags): boolean =>
  [f.status, f.worker, f.queue, f.since, f.until, f.olderThan].some((v) => v !== undefined);

/** The filter the flags describe. */
export const filterOf = (f: SelectionFlags): JobsFilter => ({
  ...(f.status !== undefined ? { status: f.status } : {}),
  ...(f.worker !== undefined ? { workerName: f.worker } : {}),
  ...(f.queue !== undefined ? { queue: f.queue } : {}),
  ...(f.since !== undefined ? { since: f.since } : {}),
  ...(f.until !== undefined ? { until: f.until } : {}),
  ...(f.olderThan !== undefined ? { olderThanMs: f.olderThan } : {}),
  ...(f.limit !== undefined ? { limit: f.limit } : {}),
});

/** Ids or a filter, not both and not neither. */
export const selectionOf = (command: string, ids: readonly string[], f: SelectionFlags): readonly string[] | JobsFilter => {
  if (ids.length > 0 && hasFilter(f))
    throw new UserError(
      `jobtrail ${command}: give job ids or a filter (--status, --worker, --queue, --since, --until, --older-than), not both`,
      2,
    );
  if (ids.length > 0) return ids;
  if (!hasFilter(f))
    throw new UserError(
      `jobtrail ${command}: name the jobs: job ids, or a filter (--status, --worker, --queue, --since, --until, --older-than)`,
      2,
    );
  return filterOf(f);
};

/** Prints one line per job and a summary (or the report as JSON); answers the exit code: 1 when any was refused. */
export const printReport = (io: Io, report: BulkReport & { readonly undeleted?: number }, json: boolean | undefined): number => {
  if (json) io.out(JSON.stringify(report));
  else {
    for (const o of report.outcomes)
      io.out(o.outcome === 'refused' ? `${o.jobId}: refused — ${o.reason ?? ''}` : `${o.jobId}: ${o.outcome}`);
    const verb = { retry: 'retried', cancel: 'cancelled', purge: report.dryRun ? 'would purge' : 'purged' }[report.action];
    if (report.outcomes.length === 0) io.out('no jobs matched');
    else
      io.out(
        `${verb} ${report.done}, refused ${report.refused}` +
          (report.undeleted
            ? ` (${report.undeleted} purged but not deleted yet: the read side lagged; purging them again deletes them)`
            : ''),
      );
  }
  return report.refused > 0 ? 1 : 0;
};
