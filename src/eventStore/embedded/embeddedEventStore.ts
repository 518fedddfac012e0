import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setImmediate as setImmediateCallback } from 'node:timers';
import Database from 'better-sqlite3';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { checkAppendInput, checkCount, type CheckedEvent } from '../checkAppendInput.js';
import type {
  AppendError,
  AppendResult,
  EventStore,
  ExpectedRevision,
  ReadAllOptions,
  ReadStreamOptions,
  StoreUnavailable,
  SubscribeOptions,
  Subscription,
  SubscriptionHandlers,
  WrongExpectedRevision,
} from '../eventStore.js';
import { makeSubscriptionSet } from '../runSubscription.js';
import { ErrorCodes, JobtrailError } from '../../errors/index.js';
import { makeAppendCheck, type StreamRows, type Written } from './appendCheck.js';
import { isUnavailableError, makeGuard } from './guard.js';
import { makeSubscriptionSource } from './subscriptionSource.js';
import { decodePosition, noBound, prepareStatements, readPage, readStreamEvents, schema, type StreamRow } from './schema.js';

/** Options of {@link makeEmbeddedEventStore}. */
export interface EmbeddedEventStoreOptions {
  /** A file path (its parent directory is created), or `:memory:` for a private in-memory store. */
  readonly path: string;
  /** How long an operation waits for another connection's lock before it fails with `StoreUnavailable`. Default: 5000 ms. */
  readonly busyTimeoutMs?: number;
  /** How often a live subscription looks for events that other connections appended to the same file. Default: 100 ms. */
  readonly pollIntervalMs?: number;
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
}

/** Most appends committed in one transaction (group commit). */
const maxAppendsPerCommit = 1000;

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
  const inMemory = path === ':memory:';
  if (!inMemory) mkdirSync(dirname(resolve(path)), { recursive: true });
  const db = openDatabase(path, busyTimeoutMs);
  try {
    db.pragma('journal_mode = WAL');
    // The log is the record of every job: a commit must survive a power loss, not only a crash.
    db.pragma('synchronous = FULL');
    db.exec(schema);
  } catch (e) {
    db.close();
    throw e;
  }

  const statements = prepareStatements(db);
  const { selectStream, selectHead, dataVersion } = statements;
  const appendChecked = makeAppendCheck(statements);

  // The streams this connection last read or wrote, with their revision. Exact while no other
  // connection has committed since (SQLite's data_version tells), checked at the start of each
  // group commit, under the write lock; dropped whenever a transaction of ours rolls back or
  // runs without it.
  const streamCache = new Map<string, StreamRow>();
  const maxCachedStreams = 100_000;
  let seenDataVersion: number | undefined;
  const uncachedRows: StreamRows = { get: (stream) => selectStream.get(stream), known: () => undefined, set: () => undefined };
  const cachedRows: StreamRows = {
    known: (stream) => streamCache.get(stream),
    get: (stream) => {
      const cached = streamCache.get(stream);
      if (cached !== undefined) return cached;
      const row = selectStream.get(stream);
      if (row !== undefined) cachedRows.set(stream, row);
      return row;
    },
    set: (stream, row) => {
      if (streamCache.size >= maxCachedStreams) streamCache.clear();
      streamCache.set(stream, row);
    },
  };

  /** An append in a savepoint of its own: its partial writes are undone when it throws. */
  const appendInSavepoint = db.transaction(appendChecked);

  let closed = false;
  let closing: Promise<void> | undefined;
  const guard = makeGuard({ location: inMemory ? 'in memory' : `at ${path}`, busyTimeoutMs, isClosed: () => closed });
  const { guarded } = guard;
  const subscriptionSource = makeSubscriptionSource({ statements, guard, inMemory, pollIntervalMs });

  // Group commit: the appends asked for in one turn of the event loop (by many
  // jobs at once) share one write transaction and one sync to disk. Each keeps
  // its own expected-revision check, in order, so one append's conflict leaves
  // the others as they would be alone. An append that throws (a defect) rolls
  // the whole batch back, which is then made again with a savepoint per append,
  // so that the defect fails that append alone.
  interface PendingAppend {
    readonly stream: string;
    readonly events: readonly CheckedEvent[];
    readonly expected: ExpectedRevision;
    readonly resolve: (result: E.Either<AppendError, AppendResult>) => void;
    readonly reject: (defect: unknown) => void;
  }
  type Settled = { readonly ok: E.Either<WrongExpectedRevision, Written> } | { readonly defect: unknown };
  let pending: PendingAppend[] = [];
  let flushScheduled = false;
  class AppendDefect extends Error {}
  const commitFast = db.transaction((batch: readonly PendingAppend[]): Settled[] => {
    // Under the write lock now: nobody else can commit until this transaction ends.
    const version = dataVersion.get() as number;
    if (version !== seenDataVersion) streamCache.clear();
    seenDataVersion = version;
    return batch.map((p): Settled => {
      try {
        return { ok: appendChecked(cachedRows, p.stream, p.events, p.expected) };
      } catch (e) {
        if (isUnavailableError(e)) throw e;
        throw new AppendDefect('an append of the batch threw', { cause: e });
      }
    });
  });
  const commitSafe = db.transaction((batch: readonly PendingAppend[]): Settled[] =>
    batch.map((p): Settled => {
      try {
        return { ok: appendInSavepoint(uncachedRows, p.stream, p.events, p.expected) };
      } catch (e) {
        // The disk or the lock failing fails the whole transaction; anything else is this append's defect.
        if (isUnavailableError(e)) throw e;
        return { defect: e };
      }
    }),
  );
  const commitBatch = (batch: readonly PendingAppend[], committing: boolean): Settled[] => {
    if (committing) {
      try {
        return commitFast.immediate(batch);
      } catch (e) {
        if (!(e instanceof AppendDefect)) {
          streamCache.clear();
          throw e;
        }
      }
    }
    // Rolled back, or inside a transaction someone else opened on the connection (nothing is
    // final until it commits): what the cache holds may not be true, and this batch does not update it.
    streamCache.clear();
    return commitSafe.immediate(batch);
  };
  const flush = (): void => {
    flushScheduled = false;
    while (pending.length > 0) {
      const batch = pending.slice(0, maxAppendsPerCommit);
      pending = pending.slice(batch.length);
      let outcome: E.Either<StoreUnavailable, Settled[]>;
      // Inside a transaction someone else opened on the connection, "committing" only releases a savepoint:
      // the positions are not final until that transaction commits, so no subscription may skip them.
      const committing = !closed && !db.inTransaction;
      try {
        outcome = guarded(`append to ${batch.length === 1 ? `"${batch[0]!.stream}"` : `${batch.length} streams`}`, () =>
          commitBatch(batch, committing),
        );
      } catch (defect) {
        for (const p of batch) p.reject(defect);
        continue;
      }
      if (E.isLeft(outcome)) {
        for (const p of batch) p.resolve(outcome);
        continue;
      }
      let appended = false;
      const skipping = committing && subscriptionSource.skipsOwnAppends();
      outcome.right.forEach((settled, i) => {
        const p = batch[i]!;
        if ('defect' in settled) return p.reject(settled.defect);
        if (E.isLeft(settled.ok)) return p.resolve(settled.ok);
        const { result, inserted } = settled.ok.right;
        if (p.events.length > 0) appended = true;
        // Committed, and no subscription can read between the commit and this line: a skipping one
        // learns of these positions before it could see them.
        if (skipping && inserted) subscriptionSource.committed(inserted.from, inserted.to);
        p.resolve(E.right(result));
      });
      if (appended) subscriptionSource.appended();
    }
  };

  const subscriptions = makeSubscriptionSet();

  return {
    kind: 'sqlite',
    database: db,

    append: (stream, events, { expectedRevision }): TE.TaskEither<AppendError, AppendResult> => {
      const checked = checkAppendInput(stream, events, expectedRevision);
      return () =>
        new Promise((resolve, reject) => {
          pending.push({ stream, events: checked, expected: expectedRevision, resolve, reject });
          if (!flushScheduled) {
            flushScheduled = true;
            setImmediateCallback(flush);
          }
        });
    },

    readStream: (stream: string, options: ReadStreamOptions = {}) => {
      checkCount('fromRevision', options.fromRevision);
      checkCount('maxCount', options.maxCount);
      return async () =>
        guarded(`read stream "${stream}"`, () => readStreamEvents(statements, stream, options.fromRevision ?? 0, options.maxCount ?? -1));
    },

    readAll: (options: ReadAllOptions = {}) => {
      const after = decodePosition(options.after);
      checkCount('maxCount', options.maxCount);
      return async () => guarded('read all', () => readPage(statements, after, noBound, options.maxCount ?? -1, options.streamPrefix));
    },

    headPosition: () => async () =>
      guarded('read the head position', () => {
        const row = selectHead.get();
        return row?.position == null ? undefined : String(row.position);
      }),

    subscribe: (options: SubscribeOptions, handlers: SubscriptionHandlers): Subscription => {
      decodePosition(options.after);
      return subscriptions.run(subscriptionSource.eventSource(options), handlers);
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
