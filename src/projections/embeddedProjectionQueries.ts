import * as t from 'io-ts';
import type { JobView } from '../job/index.js';
import type { ProjectionChanges, ProjectionInfo } from './projectionEngine.js';
import { ProjectionNames } from './projectionFiles.js';
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
import { makeProjectionTables, type ProjectionTables, type SqliteDatabase } from './projectionTables.js';
import { makeSqliteJobSearch } from './sqliteJobSearch.js';

export interface EmbeddedProjectionQueriesOptions {
  /** The embedded store's SQLite connection. */
  readonly database: SqliteDatabase;
  /** How often subscriptions look for batches committed by another process. Default: 250 ms. */
  readonly pollIntervalMs?: number;
  /** Where a listener's exception goes. Default: `console.error`. */
  readonly onListenerError?: (error: unknown) => void;
}

/** One page of a projection's partitions, in partition order; `next` is absent on the last page. */
export interface PartitionPage {
  readonly partitions: ReadonlyArray<{ readonly partition: string; readonly state: unknown }>;
  readonly next?: string;
}

/**
 * The embedded queries, plus what only the embedded tables can answer
 * (listing any projection's partitions) and the hook the runtime calls after
 * each commit (no polling delay in the process that writes).
 */
export interface EmbeddedProjectionQueries extends ProjectionQueries {
  /** A projection's partitions and their states, by partition name, paged (limit default 50, at most 1000). */
  listPartitions(name: string, options?: { readonly limit?: number; readonly after?: string }): Promise<PartitionPage>;
  /**
   * The position of the last event the projection's kept state includes
   * (`undefined` before the first): its state is exact up to there, whichever
   * process committed it.
   */
  checkpoint(name: string): string | undefined;
  /** Delivers the changes of the batch committed as `version` of projection `name` (`biState`: deliver its shared state only). */
  publish(name: string, version: number, changes: ProjectionChanges, biState: boolean): void;
}

interface Watcher {
  readonly listeners: Set<(change: ProjectionChange) => void>;
  lastVersion: number;
  lastRoot: string | null;
}

const Cursor = t.tuple([t.number, t.string]);
const PartitionCursor = t.tuple([t.literal('partition'), t.string]);
const parse = (text: string | null | undefined): unknown => (text === null || text === undefined ? undefined : JSON.parse(text));

/**
 * `ProjectionQueries` over the tables the embedded runtime keeps in the
 * store's SQLite file. Works in any process that opens the file: the one
 * holding the lease, the others, and the CLI. `subscribe` polls the
 * projection's version (one indexed read per interval) and reads the
 * partitions written since; in the lease holder, `publish` delivers at once.
 * A bi-state projection's subscribers get its shared state only.
 */
export const makeEmbeddedProjectionQueries = (options: EmbeddedProjectionQueriesOptions): EmbeddedProjectionQueries => {
  const tables: ProjectionTables = makeProjectionTables(options.database);
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const onListenerError = options.onListenerError ?? ((error: unknown) => console.error('projection subscriber threw:', error));
  const watchers = new Map<string, Watcher>();
  let timer: NodeJS.Timeout | undefined;

  const emit = (w: Watcher, change: ProjectionChange) => {
    for (const listener of [...w.listeners]) {
      try {
        listener(change);
      } catch (error) {
        onListenerError(error);
      }
    }
  };

  // Reads what changed since the watcher's last version from the tables.
  const catchUp = (name: string, w: Watcher) => {
    const row = tables.projection.get(name);
    if (row === undefined || row.version <= w.lastVersion) return;
    const since = w.lastVersion;
    w.lastVersion = row.version;
    const shared = row.info !== null && (JSON.parse(row.info) as ProjectionInfo).biState;
    if (!shared) for (const p of tables.partitionsSince.all(name, since)) emit(w, { partition: p.partition, state: parse(p.state) });
    if (row.state !== w.lastRoot) {
      w.lastRoot = row.state;
      emit(w, { state: parse(row.state) });
    }
  };

  const poll = () => {
    for (const [name, w] of watchers) catchUp(name, w);
  };

  const listStatements = new Map<string, ReturnType<SqliteDatabase['prepare']>>();
  const listStatement = (byStatus: boolean, byWorker: boolean, after: boolean, oldestFirst = false) => {
    const key = `${byStatus}:${byWorker}:${after}:${oldestFirst}`;
    let st = listStatements.get(key);
    if (st === undefined) {
      const where = [
        ...(byStatus ? ['v.status = @status'] : []),
        ...(byWorker ? ['v.worker_name = @workerName'] : []),
        ...(after ? [`(v.enqueued_ms, v.partition) ${oldestFirst ? '>' : '<'} (@afterMs, @afterPartition)`] : []),
      ];
      st = options.database.prepare(
        `SELECT v.partition AS partition, v.enqueued_ms AS ms, p.state AS state
         FROM projection_job_views v
         JOIN projection_partitions p ON p.projection = @projection AND p.partition = v.partition
         ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY v.enqueued_ms ${oldestFirst ? 'ASC' : 'DESC'}, v.partition ${oldestFirst ? 'ASC' : 'DESC'}
         LIMIT @limit`,
      );
      listStatements.set(key, st);
    }
    return st;
  };

  const firstPartitions = options.database.prepare<[string, number], { partition: string; state: string | null }>(
    'SELECT partition, state FROM projection_partitions WHERE projection = ? ORDER BY partition LIMIT ?',
  );
  const nextPartitions = options.database.prepare<[string, string, number], { partition: string; state: string | null }>(
    'SELECT partition, state FROM projection_partitions WHERE projection = ? AND partition > ? ORDER BY partition LIMIT ?',
  );

  const queries: EmbeddedProjectionQueries = {
    ...makeSqliteJobSearch(options.database),
    checkpoint: (name) => tables.projection.get(name)?.checkpoint ?? undefined,

    getState: async (name, partition) => {
      if (partition === undefined) return parse(tables.projection.get(name)?.state);
      return parse(tables.partition.get(name, partition)?.state);
    },

    listJobViews: async (filter: JobViewFilter = {}): Promise<JobViewPage> => {
      const limit = pageSize(filter.limit);
      const after = filter.after !== undefined ? decodeCursor(Cursor, filter.after) : undefined;
      const rows = listStatement(filter.status !== undefined, filter.workerName !== undefined, after !== undefined, filter.oldestFirst === true).all({
        projection: ProjectionNames.jobView,
        limit: limit + 1,
        ...(filter.status !== undefined ? { status: filter.status } : {}),
        ...(filter.workerName !== undefined ? { workerName: filter.workerName } : {}),
        ...(after !== undefined ? { afterMs: after[0], afterPartition: after[1] } : {}),
      }) as Array<{ partition: string; ms: number; state: string | null }>;
      const page = rows.slice(0, limit);
      const jobs = page.flatMap((r) => {
        const view = toJobView(r.partition, parse(r.state));
        return view !== undefined ? [view] : [];
      }) satisfies JobView[];
      const last = page[page.length - 1];
      return rows.length > limit && last !== undefined ? { jobs, next: encodeCursor([last.ms, last.partition]) } : { jobs };
    },

    listPartitions: async (name, listOptions = {}) => {
      const limit = pageSize(listOptions.limit);
      const after = listOptions.after !== undefined ? decodeCursor(PartitionCursor, listOptions.after)[1] : undefined;
      const rows = (after === undefined ? firstPartitions.all(name, limit + 1) : nextPartitions.all(name, after, limit + 1)).map((r) => ({
        partition: r.partition,
        state: parse(r.state),
      }));
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return rows.length > limit && last !== undefined ? { partitions: page, next: encodeCursor(['partition', last.partition]) } : { partitions: page };
    },

    subscribe: (name, onChange) => {
      let w = watchers.get(name);
      if (w === undefined) {
        const row = tables.projection.get(name);
        w = { listeners: new Set(), lastVersion: row?.version ?? -1, lastRoot: row?.state ?? null };
        watchers.set(name, w);
      }
      const watcher = w;
      watcher.listeners.add(onChange);
      if (timer === undefined) {
        timer = setInterval(poll, pollIntervalMs);
        timer.unref();
      }
      return () => {
        watcher.listeners.delete(onChange);
        if (watcher.listeners.size === 0) watchers.delete(name);
        if (watchers.size === 0 && timer !== undefined) {
          clearInterval(timer);
          timer = undefined;
        }
      };
    },

    waitFor: (name, until, waitOptions) => waitForState(queries, name, until, waitOptions),

    publish: (name, version, changes, shared) => {
      const w = watchers.get(name);
      if (w === undefined) return;
      // Behind by more than this batch (another process wrote before): read it all from the tables.
      if (w.lastVersion !== version - 1) {
        catchUp(name, w);
        return;
      }
      w.lastVersion = version;
      for (const [partition, state] of changes.partitions) {
        if (partition === '' && !shared) {
          w.lastRoot = state;
          emit(w, { state: parse(state) });
        } else if (!shared) {
          emit(w, { partition, state: parse(state) });
        }
      }
      if (changes.shared !== undefined) {
        w.lastRoot = changes.shared;
        emit(w, { state: parse(changes.shared) });
      }
    },

    close: async () => {
      watchers.clear();
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
  return queries;
};
