import Database from 'better-sqlite3';
import * as E from 'fp-ts/lib/Either.js';
import type { StoreUnavailable } from '../eventStore.js';

export type SqliteError = InstanceType<typeof Database.SqliteError>;

const unavailableCodes = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL|READONLY)/;
const transientCodes = /^SQLITE_(BUSY|LOCKED)/;

/** Whether SQLite threw `e` because it could not reach the data (the lock, the disk, the file): the store is unavailable, not wrong. */
export const isUnavailableError = (e: unknown): e is SqliteError => e instanceof Database.SqliteError && unavailableCodes.test(e.code);

/** Whether `e` is another connection holding the lock: it passes by itself. */
export const isTransientError = (e: SqliteError): boolean => transientCodes.test(e.code);

/** How the store's operations fail when it is closed or SQLite cannot reach the data. */
export interface Guard {
  /** Whether `close()` has closed the connection. */
  readonly isClosed: () => boolean;
  /** The failure of `what`: the store is closed (no `cause`), or SQLite failed with `cause`. */
  readonly unavailable: (what: string, cause?: SqliteError) => StoreUnavailable;
  /** Runs `op`, unless the store is closed; SQLite's unavailable errors become `StoreUnavailable`, anything else is thrown on. */
  readonly guarded: <A>(what: string, op: () => A) => E.Either<StoreUnavailable, A>;
}

/** Options of {@link makeGuard}. */
export interface GuardOptions {
  /** Where the store is, for the messages: `in memory` or `at <path>`. */
  readonly location: string;
  /** The busy timeout the connection was opened with, for the messages. */
  readonly busyTimeoutMs: number;
  readonly isClosed: () => boolean;
}

/** The guard of one store: its messages name where the store is and the busy timeout it waited. */
export const makeGuard = ({ location, busyTimeoutMs, isClosed }: GuardOptions): Guard => {
  const unavailable = (what: string, cause?: SqliteError): StoreUnavailable => ({
    _tag: 'StoreUnavailable',
    message:
      cause === undefined
        ? `sqlite event store ${location}: ${what}: the store is closed; open a new one`
        : isTransientError(cause)
          ? `sqlite event store ${location}: ${what}: ${cause.code}, another connection held the lock longer than ${busyTimeoutMs} ms; try again`
          : `sqlite event store ${location}: ${what}: ${cause.code} (${cause.message}); check the file and the disk, then try again`,
    ...(cause === undefined ? {} : { cause }),
  });

  const guarded = <A>(what: string, op: () => A): E.Either<StoreUnavailable, A> => {
    if (isClosed()) return E.left(unavailable(what));
    try {
      return E.right(op());
    } catch (e) {
      if (isUnavailableError(e)) return E.left(unavailable(what, e));
      throw e;
    }
  };

  return { isClosed, unavailable, guarded };
};
