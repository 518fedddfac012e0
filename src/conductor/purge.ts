import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as E from 'fp-ts/lib/Either.js';
import type { ReadSide } from '../backends/index.js';
import { StoreUnavailableError } from '../errors/index.js';
import { isJobView, isoDate, jobStreamName, purge, type JobView } from '../job/index.js';
import { storeRead } from '../jobStore/index.js';
import { ProjectionNames } from '../projections/index.js';
import {
  bulkReport,
  endedAt,
  reasonOf,
  resolveSelection,
  type BulkDeps,
  type BulkOutcome,
  type BulkReport,
  type JobSelection,
  type JobsFilter,
} from './bulk.js';
import { maxConflictRounds } from './dispatch.js';
import type { ActionOptions } from './manualActions.js';

// Purge (docs/retention.md): a final job is marked gone by a `JobPurged` in its own stream (so the projections of
// both stores drop it from lists and current counts, as they see it in `$ce-job`), recorded with who, when and why
// in a `JobsPurged` of `purges-<day>` (its stream is about to go), and once the read side has folded the mark, its
// stream is deleted (SQLite: the rows, and the projection rows; EventStoreDB: a soft delete).

/** The stream a day's purge records go to (UTC day of the purge). */
export const purgeStreamName = (at: Date): string => `purges-${at.toISOString().slice(0, 10)}`;
export const JobsPurgedType = 'JobsPurged';
/** Most job ids in one `JobsPurged` record (a bulk purge records one per batch). */
export const purgeBatchSize = 500;
/** Jobs of a batch decided and marked at once on EventStoreDB (on SQLite: the whole batch). */
const markConcurrency = 32;

/** The record of one batch of purges. */
export interface JobsPurgedData {
  readonly at: string;
  readonly by?: string;
  readonly reason?: string;
  /** The filter that nominated the jobs, when there was one (ms fields as given). */
  readonly filter?: Readonly<Record<string, unknown>>;
  /** `true` when the engine's retention purged them. */
  readonly retention?: boolean;
  readonly jobIds: readonly string[];
  readonly count: number;
}

export interface PurgeOptions extends ActionOptions {
  /** Say what would be purged; record nothing. */
  readonly dryRun?: boolean;
  /** Only jobs that ended at least this long ago (also when purging by ids). */
  readonly olderThanMs?: number;
  /** How long to wait for the read side to fold the marks before deleting the streams. Default: 10 000 ms. */
  readonly waitMs?: number;
  /** Recorded in `JobsPurged` (the engine's retention sets it). */
  readonly retention?: boolean;
}

export interface PurgeReport extends BulkReport {
  /** Purged jobs whose streams are not deleted yet (the read side had not folded the mark in time): a later purge of them deletes them. */
  readonly undeleted: number;
  /** Their ids. */
  readonly undeletedIds: readonly string[];
}

/** A job marked `JobPurged` (`again`: by an earlier purge, whose delete this one finishes). */
type Marked = { readonly jobId: string; readonly revision: number; readonly again?: boolean };
type Decided = { readonly outcome: BulkOutcome; readonly marked?: Marked };

const refused = (jobId: string, reason: string): Decided => ({ outcome: { jobId, outcome: 'refused', reason } });

/** Whether a continuation still waits for this parent: then it must not be purged (the child's release reads it). */
const awaitingChild = async (deps: BulkDeps, view: JobView): Promise<string | undefined> => {
  for (const child of view.children ?? []) {
    const loaded = await storeRead(deps.jobs.load(child));
    if (isJobView(loaded.state) && loaded.state.status === 'awaiting') return child;
  }
  return undefined;
};

/** Decides and marks one job. */
const markOne = async (deps: BulkDeps, jobId: string, options: PurgeOptions, causationId: string): Promise<Decided> => {
  for (let round = 1; round <= maxConflictRounds; round++) {
    const loaded = await storeRead(deps.jobs.load(jobId));
    if (!isJobView(loaded.state)) {
      if (loaded.revision === 'no_stream') return refused(jobId, `job "${jobId}" does not exist`);
      // Marked already (by another process at the same time, or a purge cut short before the delete): finish it.
      return {
        outcome: { jobId, outcome: options.dryRun ? 'would purge' : 'purged' },
        ...(options.dryRun ? {} : { marked: { jobId, revision: loaded.revision, again: true } }),
      };
    }
    const view = loaded.state;
    const at = isoDate(deps.now());
    const decided = purge(loaded.state, {
      at,
      ...(options.by !== undefined ? { by: options.by } : {}),
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
    });
    if (E.isLeft(decided)) return refused(jobId, decided.left.message);
    if (options.olderThanMs !== undefined) {
      const end = endedAt(view) as string;
      const age = deps.now().getTime() - Date.parse(end);
      if (age < options.olderThanMs) return refused(jobId, `job "${jobId}" ended at ${end}, less than ${options.olderThanMs} ms ago`);
    }
    const child = await awaitingChild(deps, view);
    if (child !== undefined)
      return refused(jobId, `job "${jobId}" cannot be purged: its continuation "${child}" still waits for it (awaiting)`);
    if (options.dryRun) return { outcome: { jobId, outcome: 'would purge' } };
    const r = await deps.jobs.append(loaded, decided.right, {
      correlationId: jobId,
      causationId,
      ...(options.by !== undefined ? { by: options.by } : {}),
    })();
    if (E.isRight(r)) {
      const revision = r.right.revision;
      if (revision === 'no_stream') throw new Error(`job "${jobId}" has no stream right after its JobPurged was appended: a defect`);
      return { outcome: { jobId, outcome: 'purged' }, marked: { jobId, revision } };
    }
    if (r.left._tag === 'StoreUnavailable') throw new StoreUnavailableError(r.left.message);
    if (r.left._tag === 'StreamDeleted') return refused(jobId, `job "${jobId}" does not exist (its stream was deleted)`);
    if (r.left._tag === 'AppendTooLarge') throw new Error(r.left.message);
    // WrongExpectedRevision: the job moved (a continuation was added, a retry): decide again.
  }
  throw new StoreUnavailableError(
    `job "${jobId}" kept moving while it was being purged (${maxConflictRounds} conflicts in a row); try again`,
  );
};

const isView = (state: unknown): boolean => {
  if (state === null || typeof state !== 'object') return false;
  const s = state as { status?: unknown; s?: unknown };
  return (typeof s.status === 'string' && s.status !== 'none') || (typeof s.s === 'string' && s.s !== 'none');
};

/** Whether the read side has folded the job's mark (or never folded the job at all): its stream may go. */
const foldedAway = async (readSide: ReadSide, jobId: string): Promise<boolean> => {
  const partition = jobStreamName(jobId);
  if (isView(await readSide.queries.getState(ProjectionNames.jobView, partition))) return false;
  // In-process projections: job-dashboard folds at its own pace, and must have taken the job out of its counts.
  if (readSide.runtime !== undefined && isView(await readSide.queries.getState(ProjectionNames.jobDashboard, partition))) return false;
  return true;
};

/** Deletes the streams of marked jobs once the read side has folded their marks; answers how many are left. */
const deleteMarked = async (
  deps: BulkDeps,
  readSide: () => Promise<ReadSide>,
  marked: readonly Marked[],
  waitMs: number,
): Promise<readonly Marked[]> => {
  if (marked.length === 0) return [];
  const side = await readSide();
  const deadline = Date.now() + waitMs;
  let pending = [...marked];
  for (;;) {
    const next: Marked[] = [];
    const folded = await Promise.all(pending.map(async (m) => ((await foldedAway(side, m.jobId)) ? m : undefined)));
    const ready = folded.filter((m): m is Marked => m !== undefined);
    for (const m of pending) if (!ready.includes(m)) next.push(m);
    // Asked for together: the embedded store deletes them in one transaction.
    const results = await Promise.all(
      ready.map(async (m) => ({ m, deleted: await deps.store.deleteStream(jobStreamName(m.jobId), { expectedRevision: m.revision })() })),
    );
    for (const { m, deleted } of results) {
      if (E.isRight(deleted)) continue;
      const e = deleted.left;
      // Deleted already (two processes purging the same job at once): done.
      if (e._tag === 'WrongExpectedRevision' && e.actual === 'no_stream') continue;
      if (e._tag === 'StreamDeleted') continue;
      if (e._tag === 'StoreUnavailable') throw new StoreUnavailableError(e.message);
      deps.log.warn({ jobId: m.jobId, err: e.message }, 'a purged job could not be deleted; it stays purged (gone from lists)');
    }
    pending = next;
    if (pending.length === 0 || Date.now() >= deadline) break;
    await sleep(50);
  }
  if (pending.length > 0)
    deps.log.warn(
      { jobs: pending.length, waitMs },
      'the read side did not fold some purges in time: those jobs are gone from lists, their streams are deleted by a later purge of them',
    );
  return pending;
};

/** The filter as recorded: plain JSON. */
const recordedFilter = (selection: JobSelection): Readonly<Record<string, unknown>> | undefined => {
  if (Array.isArray(selection)) return undefined;
  const f = selection as JobsFilter;
  return JSON.parse(
    JSON.stringify({
      ...f,
      since: f.since instanceof Date ? f.since.toISOString() : f.since,
      until: f.until instanceof Date ? f.until.toISOString() : f.until,
    }),
  ) as Record<string, unknown>;
};

/**
 * Purges the selected jobs: each is checked against its own stream (final, no continuation awaiting it, old enough
 * when `olderThanMs` is given), marked `JobPurged`, recorded in `purges-<day>` (`JobsPurged`: by, at, reason,
 * filter, the ids, in batches of {@link purgeBatchSize}), and its stream deleted once the read side has folded the mark.
 */
export const purgeJobs = async (
  deps: BulkDeps,
  readSide: () => Promise<ReadSide>,
  selection: JobSelection,
  options: PurgeOptions = {},
): Promise<PurgeReport> => {
  const now = deps.now();
  const olderThanMs = options.olderThanMs ?? (Array.isArray(selection) ? undefined : (selection as JobsFilter).olderThanMs);
  const ids = await resolveSelection(readSide, selection, now.getTime());
  const filter = recordedFilter(selection);
  const outcomes: BulkOutcome[] = [];
  const allMarked: Marked[] = [];
  const causationId = `purge:${randomBytes(4).toString('hex')}`;
  for (let i = 0; i < ids.length; i += purgeBatchSize) {
    const batch = ids.slice(i, i + purgeBatchSize);
    // Marked together: their appends share commits (one sync to disk for many).
    const decided: Decided[] = new Array<Decided>(batch.length);
    let next = 0;
    const lane = async () => {
      while (next < batch.length) {
        const i = next++;
        const jobId = batch[i] as string;
        try {
          decided[i] = await markOne(deps, jobId, { ...options, ...(olderThanMs !== undefined ? { olderThanMs } : {}) }, causationId);
        } catch (error) {
          if (error instanceof StoreUnavailableError) throw error;
          decided[i] = refused(jobId, reasonOf(error));
        }
      }
    };
    // On SQLite the whole batch at once: its reads are local, and its marks then share one group commit (one sync to
    // disk) rather than one commit per `markConcurrency` jobs; 32 at a time took ~1.7 ms a job in a busy engine, and
    // retention fell behind it (docs/retention.md).
    const lanes = deps.store.kind === 'sqlite' ? batch.length : Math.min(markConcurrency, batch.length);
    await Promise.all(Array.from({ length: lanes }, lane));
    const marked: Marked[] = [];
    for (const d of decided) {
      outcomes.push(d.outcome);
      if (d.marked) marked.push(d.marked);
    }
    allMarked.push(...marked);
    // Recorded once: a job whose purge is only finished here was recorded by the purge that marked it.
    const fresh = marked.filter((m) => m.again !== true);
    if (options.dryRun || fresh.length === 0) continue;
    const at = deps.now();
    const data: JobsPurgedData = {
      at: at.toISOString(),
      ...(options.by !== undefined ? { by: options.by } : {}),
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
      ...(filter !== undefined ? { filter } : {}),
      ...(options.retention ? { retention: true } : {}),
      jobIds: fresh.map((m) => m.jobId),
      count: fresh.length,
    };
    const recorded = await deps.store.append(
      purgeStreamName(at),
      [
        {
          id: randomUUID(),
          type: JobsPurgedType,
          data,
          metadata: { $causationId: causationId, origin: deps.processId, ...(options.by !== undefined ? { by: options.by } : {}) },
        },
      ],
      { expectedRevision: 'any' },
    )();
    if (E.isLeft(recorded))
      deps.log.warn({ err: recorded.left.message, jobs: fresh.length }, 'could not record JobsPurged; the jobs are purged');
  }
  // One wait for the read side to fold every mark, then the deletes.
  const left = await deleteMarked(deps, readSide, allMarked, options.waitMs ?? 10_000);
  return { ...bulkReport('purge', outcomes, options.dryRun), undeleted: left.length, undeletedIds: left.map((m) => m.jobId) };
};
