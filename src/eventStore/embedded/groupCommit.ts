import { setImmediate as setImmediateCallback } from 'node:timers';
import type Database from 'better-sqlite3';
import * as E from 'fp-ts/lib/Either.js';
import type { CheckedEvent } from '../checkAppendInput.js';
import type { AppendError, AppendResult, ExpectedRevision, StoreUnavailable, WrongExpectedRevision } from '../eventStore.js';
import type { AppendCheck, StreamRows, Written } from './appendCheck.js';
import { isUnavailableError, type Guard } from './guard.js';
import type { Statements, StreamRow } from './schema.js';
import type { SubscriptionSource } from './subscriptionSource.js';

/** Most appends committed in one transaction (group commit). */
const maxAppendsPerCommit = 1000;
const maxCachedStreams = 100_000;

/** The store's appends, committed together. */
export interface GroupCommit {
  /** Appends `events` (checked) to `stream` in the next group commit; resolves once it is committed, rejects on a defect. */
  readonly append: (
    stream: string,
    events: readonly CheckedEvent[],
    expected: ExpectedRevision,
  ) => Promise<E.Either<AppendError, AppendResult>>;
  /** Forgets what the cache holds of `stream` (this connection deleted it: data_version does not tell its own writes). */
  readonly forget: (stream: string) => void;
}

/** What {@link makeGroupCommit} commits with. */
export interface GroupCommitDeps {
  readonly db: Database.Database;
  readonly statements: Pick<Statements, 'selectStream' | 'dataVersion'>;
  readonly appendChecked: AppendCheck;
  readonly guard: Pick<Guard, 'isClosed' | 'guarded'>;
  /** Told of each commit, so that subscriptions wake, and those that skip this store's appends skip them. */
  readonly subscriptions: Pick<SubscriptionSource, 'skipsOwnAppends' | 'committed' | 'appended'>;
}

interface PendingAppend {
  readonly stream: string;
  readonly events: readonly CheckedEvent[];
  readonly expected: ExpectedRevision;
  readonly resolve: (result: E.Either<AppendError, AppendResult>) => void;
  readonly reject: (defect: unknown) => void;
}

type Settled = { readonly ok: E.Either<WrongExpectedRevision, Written> } | { readonly defect: unknown };

class AppendDefect extends Error {}

// Group commit: the appends asked for in one turn of the event loop (by many
// jobs at once) share one write transaction and one sync to disk. Each keeps
// its own expected-revision check, in order, so one append's conflict leaves
// the others as they would be alone. An append that throws (a defect) rolls
// the whole batch back, which is then made again with a savepoint per append,
// so that the defect fails that append alone.
export const makeGroupCommit = ({ db, statements, appendChecked, guard, subscriptions }: GroupCommitDeps): GroupCommit => {
  const { selectStream, dataVersion } = statements;

  // The streams this connection last read or wrote, with their revision. Exact while no other
  // connection has committed since (SQLite's data_version tells), checked at the start of each
  // group commit, under the write lock; dropped whenever a transaction of ours rolls back or
  // runs without it.
  const streamCache = new Map<string, StreamRow>();
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

  let pending: PendingAppend[] = [];
  let flushScheduled = false;
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
      const committing = !guard.isClosed() && !db.inTransaction;
      try {
        outcome = guard.guarded(`append to ${batch.length === 1 ? `"${batch[0]!.stream}"` : `${batch.length} streams`}`, () =>
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
      const skipping = committing && subscriptions.skipsOwnAppends();
      outcome.right.forEach((settled, i) => {
        const p = batch[i]!;
        if ('defect' in settled) return p.reject(settled.defect);
        if (E.isLeft(settled.ok)) return p.resolve(settled.ok);
        const { result, inserted } = settled.ok.right;
        if (p.events.length > 0) appended = true;
        // Committed, and no subscription can read between the commit and this line: a skipping one
        // learns of these positions before it could see them, and one that follows them gets them without reading them back.
        if (skipping && inserted)
          subscriptions.committed(inserted.from, inserted.to, {
            stream: p.stream,
            firstRevision: result.nextExpectedRevision - p.events.length + 1,
            events: p.events,
            inserted,
          });
        p.resolve(E.right(result));
      });
      if (appended) subscriptions.appended();
    }
  };

  return {
    forget: (stream) => {
      streamCache.delete(stream);
    },
    append: (stream, events, expected) =>
      new Promise((resolve, reject) => {
        pending.push({ stream, events, expected, resolve, reject });
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediateCallback(flush);
        }
      }),
  };
};
