import { BACKWARDS, END, FORWARDS, START, StreamNotFoundError, type EventStoreDBClient, type ResolvedEvent } from '@eventstore/db-client';
import type { JobView } from '../job/index.js';
import { foldJobStream, IndexStreams, jobIndexProjection } from './esdbList.js';
import {
  checkSearch,
  decodeSearchCursor,
  emptyCounts,
  encodeSearchCursor,
  matchesSearch,
  searchStatusOf,
  type JobSearch,
  type JobSearchCounts,
  type JobSearchPage,
  type JobSearchQueries,
  type SearchCursor,
} from './jobSearch.js';
import { InvalidCursor, pageSize, ProjectionNotInstalledError } from './projectionQueries.js';

// The console's search on EventStoreDB. job-index links every JobEnqueued into `$jobtrail-index-all` and
// `$jobtrail-index-worker-<name>`, in enqueue order: a page walks one of them (the worker's when the search names a
// worker) from the cursor's revision, either way, and checks each entry. What the JobEnqueued itself says (id,
// worker, queue, enqueue time) is checked first, without a read; the rest (status, finished time) needs the job's
// job-view state, one read per candidate (16 at a time). So a search narrowed only by status or finished time
// reads a state per job it passes over: one call reads at most `scanBudget` index entries and returns a short
// page with a cursor to go on (docs/dashboard.md says the costs). The counts read every entry the search's
// id/worker/queue/enqueue-time filters leave, up to `countBudget`, and say when they stopped (`complete: false`).

/** Index entries one page reads at most before it returns (maybe short, with a cursor to go on). */
export const searchScanBudget = 5_000;
/** Index entries the counts read at most. */
export const countScanBudget = 20_000;
/** Enqueue times of different writers may be this far out of index order: a time-bounded walk stops this far past the bound. */
const clockSlackMs = 60_000;
const chunk = 100;
const parallelReads = 16;

export interface EsdbJobSearchDeps {
  readonly client: EventStoreDBClient;
  /** The job-view state of a partition; `undefined` when the projection has not folded it. */
  readonly readView: (partition: string) => Promise<JobView | undefined>;
  readonly indexInstalled: () => Promise<boolean>;
  readonly scanBudget?: number;
  readonly countBudget?: number;
}

type Entry = { readonly revision: bigint; readonly stream: string; readonly data: Readonly<Record<string, unknown>> };

const cursorKey = (revision: bigint): readonly [number, string] => [Number(revision), 'esdb'];

/** Whether a JobEnqueued's own data passes the filters it can answer. */
const enqueuedMatches = (d: Readonly<Record<string, unknown>>, s: JobSearch): boolean => {
  const id = typeof d['jobId'] === 'string' ? d['jobId'] : '';
  if (s.jobIdPrefix !== undefined && !id.startsWith(s.jobIdPrefix)) return false;
  if (s.workerName !== undefined && d['workerName'] !== s.workerName) return false;
  if (s.queue !== undefined && d['queue'] !== s.queue) return false;
  const at = typeof d['enqueuedAt'] === 'string' ? Date.parse(d['enqueuedAt']) : NaN;
  if (s.enqueuedSince !== undefined && !(at >= s.enqueuedSince)) return false;
  if (s.enqueuedUntil !== undefined && !(at < s.enqueuedUntil)) return false;
  return true;
};

/** Whether a walk can stop: every entry further on is enqueued (give or take the slack) outside the time range. */
const pastRange = (d: Readonly<Record<string, unknown>>, s: JobSearch, backwards: boolean): boolean => {
  const at = typeof d['enqueuedAt'] === 'string' ? Date.parse(d['enqueuedAt']) : NaN;
  if (Number.isNaN(at)) return false;
  return backwards
    ? s.enqueuedSince !== undefined && at < s.enqueuedSince - clockSlackMs
    : s.enqueuedUntil !== undefined && at >= s.enqueuedUntil + clockSlackMs;
};

export const makeEsdbJobSearch = (deps: EsdbJobSearchDeps): JobSearchQueries => {
  const { client } = deps;
  const budget = deps.scanBudget ?? searchScanBudget;
  const countBudget = deps.countBudget ?? countScanBudget;
  const viewOf = async (stream: string): Promise<JobView | undefined> => (await deps.readView(stream)) ?? (await foldJobStream(client, stream));

  /** The views of the streams, read 16 at a time. */
  const views = async (streams: readonly string[]): Promise<Map<string, JobView | undefined>> => {
    const out = new Map<string, JobView | undefined>();
    for (let i = 0; i < streams.length; i += parallelReads) {
      const part = streams.slice(i, i + parallelReads);
      const got = await Promise.all(part.map(viewOf));
      part.forEach((s, j) => out.set(s, got[j]));
    }
    return out;
  };

  /**
   * Walks the index from `from` (inclusive; undefined: the end it starts from), `backwards` or not, handing each
   * chunk of entries that pass the enqueue filters to `take`, which says whether to stop. Returns where it stopped
   * (the revision of the next entry not read, or undefined at the index's end) and the entries read.
   */
  const walk = async (
    s: JobSearch,
    backwards: boolean,
    from: bigint | undefined,
    maxEntries: number,
    take: (entries: readonly Entry[]) => Promise<boolean>,
  ): Promise<{ readonly rest: bigint | undefined; readonly read: number }> => {
    const index = s.workerName !== undefined ? IndexStreams.worker(s.workerName) : IndexStreams.all;
    let position = from;
    let read = 0;
    for (;;) {
      if (position !== undefined && position < 0n) return { rest: undefined, read };
      const entries: Entry[] = [];
      let got = 0;
      let stop = false;
      let last: bigint | undefined;
      try {
        for await (const r of client.readStream(index, {
          direction: backwards ? BACKWARDS : FORWARDS,
          fromRevision: position ?? (backwards ? END : START),
          maxCount: Math.min(chunk, maxEntries - read),
          resolveLinkTos: true,
        }) as AsyncIterable<ResolvedEvent>) {
          got += 1;
          const revision = r.link?.revision ?? r.event?.revision;
          if (revision === undefined) continue;
          last = revision;
          const e = r.event;
          if (e === undefined || typeof e.data !== 'object' || e.data === null) continue;
          const data = e.data as Readonly<Record<string, unknown>>;
          // The chunk is read to its end (at most `chunk` entries): a stream left half-read holds its call open.
          if (stop || pastRange(data, s, backwards)) {
            stop = true;
            continue;
          }
          if (enqueuedMatches(data, s)) entries.push({ revision, stream: e.streamId, data });
        }
      } catch (error) {
        if (!(error instanceof StreamNotFoundError)) throw error;
        if (!(await deps.indexInstalled())) throw new ProjectionNotInstalledError(jobIndexProjection, 'jobs cannot be searched');
        return { rest: undefined, read };
      }
      read += got;
      if (await take(entries)) return { rest: last !== undefined ? (backwards ? last - 1n : last + 1n) : position, read };
      if (stop || got === 0) return { rest: undefined, read };
      position = last !== undefined ? (backwards ? last - 1n : last + 1n) : position;
      if (read >= maxEntries) return { rest: position, read };
    }
  };

  const searchJobs = async (s: JobSearch): Promise<JobSearchPage> => {
    checkSearch(s);
    if (s.jobId !== undefined) {
      // One job: its own state, no walk.
      const v = await viewOf(`job-${s.jobId}`);
      return { jobs: v !== undefined && matchesSearch(v, s) ? [v] : [] };
    }
    const oldestFirst = s.oldestFirst === true;
    const limit = pageSize(s.limit);
    const cursor: SearchCursor | undefined = s.cursor !== undefined ? decodeSearchCursor(s.cursor, oldestFirst) : undefined;
    if (cursor !== undefined && cursor.key[1] !== 'esdb') throw new InvalidCursor(s.cursor as string);
    const before = cursor?.way === 'before';
    // Newest first is backwards through the index; the page before is read the other way.
    const backwards = !oldestFirst !== before;
    const start = cursor === undefined ? undefined : BigInt(cursor.key[0]) + (backwards ? -1n : 1n);
    const found: { view: JobView; revision: bigint }[] = [];
    let stoppedAt: bigint | undefined;
    const { rest } = await walk(s, backwards, start, budget, async (entries) => {
      const got = await views([...new Set(entries.map((e) => e.stream))]);
      for (const e of entries) {
        const v = got.get(e.stream);
        if (v === undefined || v.enqueuedAt !== e.data['enqueuedAt'] || !matchesSearch(v, s)) continue;
        found.push({ view: v, revision: e.revision });
        if (found.length > limit) {
          stoppedAt = e.revision;
          return true;
        }
      }
      return false;
    });
    // More when a further match was found, or the budget ran out before the index did.
    const more = stoppedAt !== undefined || rest !== undefined;
    const page = found.slice(0, limit);
    // Where the next read in this direction starts: after the last shown, or where the budget stopped the walk.
    const onward =
      stoppedAt !== undefined ? page[page.length - 1]?.revision : rest !== undefined ? rest + (backwards ? 1n : -1n) : undefined;
    const shown = before ? [...page].reverse() : page;
    const at = (way: 'after' | 'before', revision: bigint | undefined): string | undefined =>
      revision === undefined ? undefined : encodeSearchCursor({ way, oldestFirst, key: cursorKey(revision) });
    const edge = cursor !== undefined ? BigInt(cursor.key[0]) : undefined;
    let next: string | undefined;
    let prev: string | undefined;
    if (before) {
      prev = more ? at('before', onward) : undefined;
      next = at('after', shown[shown.length - 1]?.revision ?? edge);
    } else {
      next = more ? at('after', onward) : undefined;
      prev = cursor !== undefined ? at('before', shown[0]?.revision ?? edge) : undefined;
    }
    return { jobs: shown.map((f) => f.view), ...(next !== undefined ? { next } : {}), ...(prev !== undefined ? { prev } : {}) };
  };

  const countJobs = async (s: Omit<JobSearch, 'status' | 'cursor' | 'limit' | 'oldestFirst'>): Promise<JobSearchCounts> => {
    checkSearch(s);
    const counts = emptyCounts();
    let total = 0;
    const tally = (v: JobView | undefined) => {
      if (v === undefined || !matchesSearch(v, s, false)) return;
      counts[searchStatusOf(v)] += 1;
      total += 1;
    };
    if (s.jobId !== undefined) {
      tally(await viewOf(`job-${s.jobId}`));
      return { counts, total, complete: true };
    }
    const { rest } = await walk(s, true, undefined, countBudget, async (entries) => {
      const got = await views([...new Set(entries.map((e) => e.stream))]);
      for (const e of entries) {
        const v = got.get(e.stream);
        if (v !== undefined && v.enqueuedAt === e.data['enqueuedAt']) tally(v);
      }
      return false;
    });
    return { counts, total, complete: rest === undefined };
  };

  return { searchJobs, countJobs };
};
