import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BACKWARDS,
  END,
  excludeSystemEvents,
  StreamNotFoundError,
  type EventStoreDBClient,
  type ResolvedEvent,
} from '@eventstore/db-client';
import * as t from 'io-ts';
import type { JobView } from '../job/index.js';
import { makeProjectionEngine, type ProjectionInfo } from './projectionEngine.js';
import { builtInProjectionFiles, ProjectionNames, projectionsDir, readProjectionFiles, type ProjectionFile } from './projectionFiles.js';
import {
  decodeCursor,
  encodeCursor,
  pageSize,
  toJobView,
  waitForState,
  type JobViewFilter,
  type JobViewPage,
  type ProjectionChange,
  type ProjectionQueries,
} from './projectionQueries.js';

/** What `installProjections` did to a projection. */
export interface InstalledProjection {
  readonly name: string;
  readonly action: 'created' | 'updated';
  readonly emitEnabled: boolean;
  /** Reset after the update, so that EventStoreDB folds every event again with the new code. */
  readonly reset: boolean;
}

export interface InstallProjectionsOptions {
  /**
   * Reset projections that existed, so they are rebuilt from the start with
   * the new code (EventStoreDB keeps an updated projection's state and
   * checkpoint otherwise, and would go on from there). Default: false.
   */
  readonly reset?: boolean;
}

/** The projection files of a folder (`*.js`, each one a projection), sorted by name. */
const filesOf = async (dir: string): Promise<string[]> =>
  (await readdir(dir))
    .filter((f) => f.endsWith('.js'))
    .sort()
    .map((f) => join(dir, f));

/** Compiles a file in the embedded runtime only to read its definition (selector, partitioning, outputState, …). */
const infoOf = (file: ProjectionFile): ProjectionInfo => makeProjectionEngine({ name: file.name, source: file.source, filename: file.path }).info;

/**
 * Creates the projections of a folder in EventStoreDB (continuous, enabled),
 * or updates their query when they exist (`jobtrail projections install`).
 * `emitEnabled` is set only for a projection that calls `emit`/`linkTo`:
 * the result streams `outputState()` writes need no emit permission. A file
 * that does not define a projection is refused before anything is sent.
 */
export const installProjections = async (
  client: EventStoreDBClient,
  dir: string = projectionsDir,
  options: InstallProjectionsOptions = {},
): Promise<InstalledProjection[]> => {
  const files = await readProjectionFiles(await filesOf(dir));
  const planned = files.map((file) => ({ file, info: infoOf(file) }));
  const existing = new Set((await client.listProjections()).map((p) => p.name));
  const installed: InstalledProjection[] = [];
  for (const { file, info } of planned) {
    const emitEnabled = info.emits;
    if (existing.has(file.name)) {
      await client.updateProjection(file.name, file.source, { emitEnabled });
      if (options.reset === true) await client.resetProjection(file.name);
      installed.push({ name: file.name, action: 'updated', emitEnabled, reset: options.reset === true });
    } else {
      await client.createProjection(file.name, file.source, { emitEnabled });
      installed.push({ name: file.name, action: 'created', emitEnabled, reset: false });
    }
  }
  return installed;
};

export interface EsdbProjectionQueriesOptions {
  readonly client: EventStoreDBClient;
  /** The projection files installed (to know how each one's changes are published). Default: jobtrail's two. */
  readonly files?: readonly string[];
  /**
   * For a projection without `outputState()` (job-dashboard), how long after
   * the last event of its source to read the state once more, since the
   * projection may not have processed that event yet when first read. Default: 300 ms.
   */
  readonly settleMs?: number;
  /** Where subscription failures go. Default: `console.error`. */
  readonly onError?: (error: unknown) => void;
}

const Cursor = t.tuple([t.literal('esdb'), t.string]);
/** How many `$ce-job` events one `listJobViews` call reads at most before it returns a page (maybe short) with `next`. */
const scanBudget = 5000;
const scanPage = 200;
/** How many partition states are read at once. */
const parallelReads = 16;

/**
 * `ProjectionQueries` over EventStoreDB projections, with `@eventstore/db-client` 6:
 * - `getState`: `getProjectionState(name, {partition})`; a bi-state
 *   projection's state array (`[state]`, `[partitionState, shared]`) is unwrapped;
 * - `listJobViews`: reads `$ce-job` backwards (newest first; `$by_category`
 *   must run, as `fromCategory` needs it), keeps the JobEnqueued events and
 *   reads each job's view; filters are applied to the views;
 * - `subscribe`: a partitioned projection with `outputState()` (job-view)
 *   through `$projections-<name>-result`, whose links resolve to the
 *   partitions' `Result` events (`$projections-<name>-<partition>-result`);
 *   an unpartitioned one through its result stream; one without
 *   `outputState()` (job-dashboard) by reading the state again when its
 *   source streams (`$ce-<category>`) get events.
 */
export const makeEsdbProjectionQueries = async (options: EsdbProjectionQueriesOptions): Promise<ProjectionQueries> => {
  const { client } = options;
  const settleMs = options.settleMs ?? 300;
  const onError = options.onError ?? ((error: unknown) => console.error('EventStoreDB projection subscription failed:', error));
  const files = await readProjectionFiles(options.files ?? builtInProjectionFiles);
  const infos = new Map(files.map((f) => [f.name, infoOf(f)] as const));
  const closers = new Set<() => Promise<void>>();

  const unwrap = (name: string, state: unknown): unknown => {
    if (state === null || state === undefined || state === '') return undefined;
    return infos.get(name)?.biState === true && Array.isArray(state) ? state[0] : state;
  };

  const getState = async (name: string, partition?: string): Promise<unknown> =>
    unwrap(name, await client.getProjectionState(name, partition !== undefined ? { partition } : {}));

  const readViews = async (partitions: readonly string[]): Promise<Array<JobView | undefined>> => {
    const out: Array<JobView | undefined> = [];
    for (let i = 0; i < partitions.length; i += parallelReads) {
      const chunk = partitions.slice(i, i + parallelReads);
      const states = await Promise.all(chunk.map((p) => getState(ProjectionNames.jobView, p)));
      states.forEach((s, j) => out.push(toJobView(chunk[j] as string, s)));
    }
    return out;
  };

  const listJobViews = async (filter: JobViewFilter = {}): Promise<JobViewPage> => {
    const limit = pageSize(filter.limit);
    let from = filter.after !== undefined ? BigInt(decodeCursor(Cursor, filter.after)[1]) : undefined;
    const jobs: JobView[] = [];
    let scanned = 0;
    for (;;) {
      if (from !== undefined && from < 0n) return { jobs };
      const candidates: Array<{ partition: string; revision: bigint }> = [];
      let read = 0;
      let lastRevision: bigint | undefined;
      try {
        for await (const resolved of client.readStream('$ce-job', {
          direction: BACKWARDS,
          fromRevision: from ?? END,
          maxCount: scanPage,
          resolveLinkTos: true,
        }) as AsyncIterable<ResolvedEvent>) {
          read += 1;
          const revision = resolved.link?.revision ?? resolved.event?.revision;
          if (revision !== undefined) lastRevision = revision;
          if (resolved.event?.type === 'JobEnqueued' && revision !== undefined)
            candidates.push({ partition: resolved.event.streamId, revision });
        }
      } catch (err) {
        if (err instanceof StreamNotFoundError) return { jobs };
        throw err;
      }
      scanned += read;
      const views = await readViews(candidates.map((c) => c.partition));
      for (const [i, view] of views.entries()) {
        if (view === undefined) continue;
        if (filter.status !== undefined && view.status !== filter.status) continue;
        if (filter.workerName !== undefined && view.workerName !== filter.workerName) continue;
        jobs.push(view);
        if (jobs.length === limit) {
          const at = (candidates[i] as { revision: bigint }).revision;
          return at > 0n ? { jobs, next: encodeCursor(['esdb', String(at - 1n)]) } : { jobs };
        }
      }
      if (read < scanPage || lastRevision === undefined || lastRevision === 0n) return { jobs };
      from = lastRevision - 1n;
      if (scanned >= scanBudget) return { jobs, next: encodeCursor(['esdb', String(from)]) };
    }
  };

  const follow = (stream: string, resolveLinkTos: boolean, onEvent: (e: ResolvedEvent) => void): (() => void) => {
    const subscription = client.subscribeToStream(stream, { fromRevision: END, resolveLinkTos });
    subscription.on('data', (e: ResolvedEvent) => {
      try {
        onEvent(e);
      } catch (err) {
        onError(err);
      }
    });
    subscription.on('error', (err: Error) => onError(err));
    const close = async () => {
      closers.delete(close);
      await subscription.unsubscribe();
    };
    closers.add(close);
    return () => void close().catch(onError);
  };

  const subscribe = (name: string, onChange: (change: ProjectionChange) => void): (() => void) => {
    const info = infos.get(name);
    if (info === undefined) throw new Error(`unknown projection "${name}"; known: ${[...infos.keys()].join(', ')}`);
    const resultStream = info.resultStreamName ?? `$projections-${name}-result`;
    if (info.outputState && info.partitioning !== 'none') {
      const prefix = `$projections-${name}-`;
      return follow(resultStream, true, (e) => {
        const ev = e.event;
        if (ev === undefined) return;
        const partition =
          ev.streamId.startsWith(prefix) && ev.streamId.endsWith('-result') ? ev.streamId.slice(prefix.length, -'-result'.length) : ev.streamId;
        onChange({ partition, state: ev.type === 'Result' ? unwrap(name, ev.data) : undefined });
      });
    }
    if (info.outputState) {
      return follow(resultStream, false, (e) => {
        const ev = e.event;
        if (ev !== undefined) onChange({ state: ev.type === 'Result' ? unwrap(name, ev.data) : undefined });
      });
    }
    // No result stream: read the state again when the source moves, and once more when it settles.
    let last: string | undefined;
    let reading = false;
    let again = false;
    let settle: NodeJS.Timeout | undefined;
    let closed = false;
    const read = async () => {
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      try {
        do {
          again = false;
          const state = await getState(name);
          const text = JSON.stringify(state);
          if (!closed && text !== last) {
            last = text;
            onChange({ state });
          }
        } while (again && !closed);
      } catch (err) {
        onError(err);
      } finally {
        reading = false;
      }
    };
    const nudge = () => {
      void read();
      if (settle !== undefined) clearTimeout(settle);
      settle = setTimeout(() => void read(), settleMs);
    };
    const sources =
      info.source.type === 'categories'
        ? info.source.categories.map((c) => `$ce-${c}`)
        : info.source.type === 'streams'
          ? [...info.source.streams]
          : [];
    const stops = sources.map((s) => follow(s, false, nudge));
    if (info.source.type === 'all') {
      const all = client.subscribeToAll({ fromPosition: END, filter: excludeSystemEvents() });
      all.on('data', nudge);
      all.on('error', (err: Error) => onError(err));
      const close = async () => {
        closers.delete(close);
        await all.unsubscribe();
      };
      closers.add(close);
      stops.push(() => void close().catch(onError));
    }
    void getState(name).then(
      (s) => {
        if (last === undefined) last = JSON.stringify(s);
      },
      onError,
    );
    return () => {
      closed = true;
      if (settle !== undefined) clearTimeout(settle);
      for (const stop of stops) stop();
    };
  };

  const queries: ProjectionQueries = {
    getState,
    listJobViews,
    subscribe,
    waitFor: (name, until, waitOptions) => waitForState(queries, name, until, waitOptions),
    close: async () => {
      await Promise.all([...closers].map((c) => c()));
    },
  };
  return queries;
};
