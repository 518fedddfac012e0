import { setImmediate } from 'node:timers';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { checkAppendInput, checkAppendSize, checkCount } from '../checkAppendInput.js';
import type {
  AppendError,
  ExpectedRevision,
  AppendResult,
  EventStore,
  ReadAllOptions,
  ReadStreamOptions,
  SubscribeOptions,
  Subscription,
  SubscriptionHandlers,
} from '../eventStore.js';
import { makeSubscriptionSet } from '../runSubscription.js';
import { ErrorCodes, JobtrailError } from '../../errors/index.js';
import { makeAppendCheck } from './appendCheck.js';
import { deleteStreamRows, prepareDeleteStatements } from './deleteStream.js';
import { makeGroupCommit } from './groupCommit.js';
import { makeGuard } from './guard.js';
import { decodePosition, noBound, prepareStatements, readPage, readStreamEvents, schema } from './schema.js';
import { makeSubscriptionSource } from './subscriptionSource.js';

/** Options of {@link makeEmbeddedEventStore}. */
export interface EmbeddedEventStoreOptions {
  /** A file path (its parent directory is created), or `:memory:` for a private in-memory store. */
  readonly path: string;
  /** How long an operation waits for another connection's lock before it fails with `StoreUnavailable`. Default: 5000 ms. */
  readonly busyTimeoutMs?: number;
  /** How often a live subscription looks for events that other connections appended to the same file. Default: 100 ms. */
  readonly pollIntervalMs?: number;
  /**
   * SQLite's `synchronous` (the file is in WAL mode): `full` syncs every commit to disk, so an appended event
   * survives a power loss; `normal` syncs the WAL at checkpoints only, so an appended event survives a crash of the
   * process but the last commits may be lost to a power loss. Each connection sets its own. Default: `full`.
   */
  readonly synchronous?: 'full' | 'normal';
}

/** The SQLite event store: the {@link EventStore} port plus the connection, for tables kept beside the events. */
export interface EmbeddedEventStore extends EventStore {
  readonly kind: 'sqlite';
  /**
   * The store's own connection, so that in-process components (the projection
   * runtime, {@link makeSqliteLease}) keep their tables in the same file and
   * can write them in one transaction with their reads. Tables whose names
   * start with `es_` belong to the store.
   */
  readonly database: Database.Database;
  /** The `synchronous` in force on this connection, as `PRAGMA synchronous` reads it (2: `full`, 1: `normal`). */
  readonly synchronous: 'full' | 'normal';
}

/**
 * `new Database`, with the one failure a new install meets turned into its
 * remedy: better-sqlite3 loads its native module on first use, and npm may
 * have skipped the install script that builds it.
 */
const openDatabase = (path: string, timeout: number): Database.Database => {
  try {
    return new Database(path, { timeout });
  } catch (error) {
    if (error instanceof Database.SqliteError || error instanceof TypeError) throw error;
    throw new JobtrailError(
      ErrorCodes.InvalidConfig,
      `the SQLite store needs the native module of better-sqlite3, which did not load (${(error as Error).message.split('\n')[0]}). ` +
        'Its install script builds it; if npm skipped it (allowScripts), run: npm install-scripts approve better-sqlite3 && npm rebuild better-sqlite3',
      { cause: error },
    );
  }
};

/**
 * Opens (and creates) an event store in a SQLite file with EventStoreDB's
 * semantics: revisions from 0, expected revisions, idempotent
 * appends of the same event ids, a global position, system streams (`$…`)
 * left out of `readAll` and `subscribe` unless the prefix asks for them.
 *
 * Several processes may share one file (WAL mode and a busy timeout); a
 * subscription sees other processes' appends by polling, and its own
 * process's appends at once, or not at all with `skipOwnAppends`: it then
 * jumps over this store's commits without reading them. Throws when the file
 * cannot be opened.
 */
export const makeEmbeddedEventStore = (options: EmbeddedEventStoreOptions): EmbeddedEventStore => {
  const { path, busyTimeoutMs = 5000, pollIntervalMs = 100 } = options;
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`path must be a file path or ":memory:"; got ${JSON.stringify(path)}`);
  }
  const wanted = options.synchronous === undefined ? 'full' : String(options.synchronous).toLowerCase();
  if (wanted !== 'full' && wanted !== 'normal')
    throw new TypeError(`synchronous must be "full" or "normal"; got ${JSON.stringify(options.synchronous)}`);
  const inMemory = path === ':memory:';
  if (!inMemory) mkdirSync(dirname(resolve(path)), { recursive: true });
  const db = openDatabase(path, busyTimeoutMs);
  let synchronous: 'full' | 'normal';
  try {
    db.pragma('journal_mode = WAL');
    // The log is the record of every job: by default a commit must survive a power loss, not only a crash.
    db.pragma(`synchronous = ${wanted === 'normal' ? 'NORMAL' : 'FULL'}`);
    // What SQLite says is in force (2: FULL, 1: NORMAL), not what was asked.
    const level = db.pragma('synchronous', { simple: true }) as number;
    if (level !== 2 && level !== 1) throw new Error(`SQLite reports synchronous=${level} after it was set to ${wanted}`);
    synchronous = level === 2 ? 'full' : 'normal';
    db.exec(schema);
  } catch (e) {
    db.close();
    throw e;
  }

  const statements = prepareStatements(db);
  let closed = false;
  let closing: Promise<void> | undefined;
  const guard = makeGuard({ location: inMemory ? 'in memory' : `at ${path}`, busyTimeoutMs, isClosed: () => closed });
  const { guarded } = guard;
  const subscriptionSource = makeSubscriptionSource({ statements, guard, inMemory, pollIntervalMs });
  const commits = makeGroupCommit({ db, statements, appendChecked: makeAppendCheck(statements), guard, subscriptions: subscriptionSource });
  const subscriptions = makeSubscriptionSet();
  let deleteStatements: ReturnType<typeof prepareDeleteStatements> | undefined;
  type PendingDelete = {
    readonly stream: string;
    readonly expectedRevision: ExpectedRevision;
    readonly resolve: (r: E.Either<AppendError, void>) => void;
  };
  let pendingDeletes: PendingDelete[] = [];
  const flushDeletes = () => {
    const batch = pendingDeletes;
    pendingDeletes = [];
    deleteStatements ??= prepareDeleteStatements(db);
    const st = deleteStatements;
    const now = Date.now();
    const r = guarded(`delete ${batch.length === 1 ? `stream "${batch[0]!.stream}"` : `${batch.length} streams`}`, () =>
      db.transaction(() => batch.map((d) => deleteStreamRows(st, d.stream, d.expectedRevision, now))).immediate(),
    );
    batch.forEach((d, i) => {
      commits.forget(d.stream);
      d.resolve(E.isLeft(r) ? r : (r.right[i] as E.Either<AppendError, void>));
    });
  };
  let trimStatement: Database.Statement<{ stream: string; keep: number }> | undefined;

  return {
    kind: 'sqlite',
    database: db,
    synchronous,

    append: (stream, events, { expectedRevision }): TE.TaskEither<AppendError, AppendResult> => {
      const checked = checkAppendInput(stream, events, expectedRevision);
      // The same limit as EventStoreDB's, so that what the embedded store takes, EventStoreDB takes too.
      const tooLarge = checkAppendSize(stream, checked);
      if (tooLarge) return async () => E.left(tooLarge);
      return () => commits.append(stream, checked, expectedRevision);
    },

    readStream: (stream: string, options: ReadStreamOptions = {}) => {
      checkCount('fromRevision', options.fromRevision);
      checkCount('maxCount', options.maxCount);
      return async () =>
        guarded(`read stream "${stream}"`, () => readStreamEvents(statements, stream, options.fromRevision ?? 0, options.maxCount ?? -1));
    },

    deleteStream: (stream, { expectedRevision }) => {
      checkAppendInput(stream, [], expectedRevision);
      // The deletes asked for in one turn of the event loop share one transaction (one sync to disk), as appends do.
      return () =>
        new Promise((resolve) => {
          pendingDeletes.push({ stream, expectedRevision, resolve });
          if (pendingDeletes.length === 1) setImmediate(flushDeletes);
        });
    },

    readAll: (options: ReadAllOptions = {}) => {
      const after = decodePosition(options.after);
      checkCount('maxCount', options.maxCount);
      return async () => guarded('read all', () => readPage(statements, after, noBound, options.maxCount ?? -1, options.streamPrefix));
    },

    headPosition: () => async () =>
      guarded('read the head position', () => {
        const row = statements.selectHead.get();
        return row?.position == null ? undefined : String(row.position);
      }),

    subscribe: (options: SubscribeOptions, handlers: SubscriptionHandlers): Subscription => {
      decodePosition(options.after);
      return subscriptions.run(subscriptionSource.eventSource(options), handlers);
    },

    // Deletes what lies before the last `keepLast` events: never the stream's last event, so positions are never reused.
    trimStream: (stream: string, keepLast: number) => {
      if (!Number.isInteger(keepLast) || keepLast < 1) throw new TypeError(`keepLast must be a whole number ≥ 1, got ${keepLast}`);
      return async () =>
        guarded(`trim stream "${stream}"`, () => {
          trimStatement ??= db.prepare<{ stream: string; keep: number }>(
            `DELETE FROM es_events WHERE stream_key = (SELECT stream_key FROM es_streams WHERE name = @stream)
             AND revision <= (SELECT revision FROM es_streams WHERE name = @stream) - @keep`,
          );
          trimStatement.run({ stream, keep: keepLast });
        });
    },

    close: () => {
      closing ??= (async () => {
        await subscriptions.stopAll();
        closed = true;
        db.close();
      })();
      return closing;
    },
  };
};
