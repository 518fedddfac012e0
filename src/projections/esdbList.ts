import { BACKWARDS, END, StreamNotFoundError, type EventStoreDBClient, type ResolvedEvent } from '@eventstore/db-client';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { fold, isJobView, JobEvent, type JobView } from '../job/index.js';
import { decodeCursor, encodeCursor, pageSize, ProjectionNotInstalledError, toJobView, type JobViewFilter, type JobViewPage } from './projectionQueries.js';

/** The index streams `projections/esdb/job-index.js` links job events into. */
export const IndexStreams = {
  all: '$jobtrail-index-all',
  worker: (workerName: string): string => `$jobtrail-index-worker-${workerName}`,
  status: (status: string): string => `$jobtrail-index-status-${status}`,
} as const;

/** The name of the index projection (`projections/esdb/job-index.js`). */
export const jobIndexProjection = 'job-index';

const Cursor = t.tuple([t.literal('esdb-index'), t.string]);
/** How many index entries one `listJobViews` call reads at most before it returns a page (maybe short) with `next`. */
export const indexScanBudget = 500;
const scanPage = 100;
/** How many job states are read at once. */
const parallelReads = 16;

type Data = Readonly<Record<string, unknown>>;

/**
 * Whether an index entry (the event it links to) is the one that put the job
 * into its current state: a job is listed once, at its newest entry, and only
 * if it is still in the status of the index. The view is job-view's state;
 * the comparisons use what each event writes into it.
 */
export const isCurrentEntry = (view: JobView, type: string, data: Data, index: 'enqueued' | 'status'): boolean => {
  switch (type) {
    case 'JobEnqueued':
      // A continuation is enqueued `awaiting`, a job without `after` `initial`; a release or reset moves it on.
      return (
        view.enqueuedAt === data['enqueuedAt'] &&
        (index === 'enqueued' ||
          (view.status === (data['after'] !== undefined ? 'awaiting' : 'initial') && view.lastReset === undefined && view.released === undefined))
      );
    case 'JobReleased':
      return view.status === 'initial' && view.lastReset === undefined && view.released?.at === data['at'];
    case 'JobReset':
      return view.status === 'initial' && view.lastReset?.at === data['at'] && view.lastReset?.reason === data['reason'];
    case 'JobStarted':
      return view.status === 'in_progress' && view.attempts === data['attempt'] && view.startedAt === data['startedAt'];
    case 'JobCompleted':
      return view.status === 'completed' && view.completedAt === data['completedAt'];
    case 'JobErrored':
      return view.status === 'errored' && view.attempts === data['attempt'] && view.erroredAt === data['erroredAt'];
    case 'JobCancelled':
      return view.status === 'cancelled' && view.cancelledAt === data['at'];
    default:
      return false;
  }
};

/** A job's view folded from its own stream, for a job the projection has not reached; `undefined` when there is none. */
export const foldJobStream = async (client: EventStoreDBClient, stream: string): Promise<JobView | undefined> => {
  const events: JobEvent[] = [];
  try {
    for await (const r of client.readStream(stream)) {
      const e = r.event;
      if (e === undefined) continue;
      const decoded = JobEvent.decode({ type: e.type, data: e.data });
      if (E.isLeft(decoded)) return undefined;
      events.push(decoded.right);
    }
  } catch (error) {
    if (error instanceof StreamNotFoundError) return undefined;
    throw error;
  }
  const state = fold(events);
  return isJobView(state) ? toJobView(stream, JSON.parse(JSON.stringify(state)) as unknown) : undefined;
};

export interface EsdbJobListDeps {
  readonly client: EventStoreDBClient;
  /** The job-view state of a partition (`job-<id>`); undefined when the projection has not folded it. */
  readonly readView: (partition: string) => Promise<JobView | undefined>;
  /** Entries read per call at most. Default: {@link indexScanBudget}. */
  readonly scanBudget?: number;
  /** Called when the index stream is missing, to tell "no job yet" from "job-index is not installed". */
  readonly indexInstalled: () => Promise<boolean>;
}

/**
 * `listJobViews` over the index streams of `job-index`: reads the one index
 * the filter needs (status, else worker, else all) backwards from the cursor
 * (the index revision), resolving its links; reads the job-view state of each
 * candidate (in parallel, once per job per call); keeps a job at the entry
 * that put it in its current state (see {@link isCurrentEntry}), so each job
 * appears once, and only while it still matches. A job the projection has
 * not folded yet is folded from its own stream. One call reads at most
 * `scanBudget` entries and returns a short page with `next` when the budget
 * runs out.
 */
export const makeEsdbJobList = (deps: EsdbJobListDeps) => {
  const { client } = deps;
  const budget = deps.scanBudget ?? indexScanBudget;

  const foldStream = (stream: string): Promise<JobView | undefined> => foldJobStream(client, stream);
  const viewOf = async (stream: string): Promise<JobView | undefined> => (await deps.readView(stream)) ?? (await foldStream(stream));

  return async (filter: JobViewFilter = {}): Promise<JobViewPage> => {
    const limit = pageSize(filter.limit);
    const index =
      filter.status !== undefined
        ? IndexStreams.status(filter.status)
        : filter.workerName !== undefined
          ? IndexStreams.worker(filter.workerName)
          : IndexStreams.all;
    const kind = filter.status !== undefined ? 'status' : 'enqueued';
    let from = filter.after !== undefined ? BigInt(decodeCursor(Cursor, filter.after)[1]) : undefined;
    const jobs: JobView[] = [];
    let scanned = 0;
    while (from === undefined || from >= 0n) {
      const entries: Array<{ revision: bigint; stream: string; type: string; data: Data }> = [];
      let read = 0;
      try {
        for await (const r of client.readStream(index, {
          direction: BACKWARDS,
          fromRevision: from ?? END,
          maxCount: Math.min(scanPage, budget - scanned),
          resolveLinkTos: true,
        }) as AsyncIterable<ResolvedEvent>) {
          read += 1;
          const revision = r.link?.revision ?? r.event?.revision;
          if (revision === undefined) continue;
          from = revision - 1n;
          const e = r.event;
          // A link whose job stream is gone (deleted) resolves to nothing.
          if (e === undefined || typeof e.data !== 'object' || e.data === null) continue;
          entries.push({ revision, stream: e.streamId, type: e.type, data: e.data as Data });
        }
      } catch (error) {
        if (!(error instanceof StreamNotFoundError)) throw error;
        if (!(await deps.indexInstalled()))
          throw new ProjectionNotInstalledError(
            jobIndexProjection,
            'jobs cannot be listed',
          );
        return { jobs };
      }
      scanned += read;
      // One state read per job of the chunk.
      const streams = [...new Set(entries.map((e) => e.stream))];
      const views = new Map<string, JobView | undefined>();
      for (let i = 0; i < streams.length; i += parallelReads) {
        const chunk = streams.slice(i, i + parallelReads);
        const got = await Promise.all(chunk.map(viewOf));
        chunk.forEach((s, j) => views.set(s, got[j]));
      }
      for (const entry of entries) {
        const view = views.get(entry.stream);
        if (view === undefined || !isCurrentEntry(view, entry.type, entry.data, kind)) continue;
        if (filter.workerName !== undefined && view.workerName !== filter.workerName) continue;
        jobs.push(view);
        if (jobs.length === limit)
          return entry.revision > 0n ? { jobs, next: encodeCursor(['esdb-index', String(entry.revision - 1n)]) } : { jobs };
      }
      if (read === 0 || from === undefined || from < 0n) return { jobs };
      if (scanned >= budget) return { jobs, next: encodeCursor(['esdb-index', String(from)]) };
    }
    return { jobs };
  };
};
