import Database from 'better-sqlite3';
import * as E from 'fp-ts/lib/Either.js';
import type { StoreUnavailable } from '../eventStore.js';
import { isUnavailableError } from './guard.js';

/** Options of {@link makeSqliteLease}. */
export interface SqliteLeaseOptions {
  /** What the lease guards, e.g. `projections`. One holder per name per file. */
  readonly name: string;
  /** Who asks, unique per process, e.g. `host:pid:random`. */
  readonly holder: string;
  /** How long a lease lasts unless renewed; a holder that dies frees it after this. Default: 10000 ms. */
  readonly ttlMs?: number;
  /** The clock, in milliseconds since the epoch. Default: `Date.now`. */
  readonly now?: () => number;
  /**
   * Whether a holder is known to be dead (e.g. its process on this host is
   * gone): its lease is then taken over at once instead of after it expires.
   * Default: never known.
   */
  readonly isHolderGone?: (holder: string) => boolean;
}

/** Who holds a lease now. */
export interface LeaseHolder {
  readonly holder: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
}

/** A lease kept in a SQLite file, so that one of several processes sharing the file does a job at a time. */
export interface SqliteLease {
  /** Takes the lease when it is free or expired, or renews it when this holder has it; `true` when this holder has it now. */
  tryAcquire(): E.Either<StoreUnavailable, boolean>;
  /** Gives the lease up if this holder has it. */
  release(): E.Either<StoreUnavailable, void>;
  /** The live holder, or `undefined` when nobody holds the lease. */
  currentHolder(): E.Either<StoreUnavailable, LeaseHolder | undefined>;
}

/**
 * A time-bound lease on a name in a SQLite file (so that one process at a
 * time advances the projections). The holder must call `tryAcquire` again
 * well within `ttlMs` to keep it. Clocks of the processes sharing the file
 * must agree (they run on one machine: SQLite's WAL needs a local file).
 */
export const makeSqliteLease = (database: Database.Database, options: SqliteLeaseOptions): SqliteLease => {
  const { name, holder, ttlMs = 10_000, now = Date.now, isHolderGone } = options;
  database.exec(`CREATE TABLE IF NOT EXISTS es_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT`);
  // One statement, so taking a free or expired lease cannot race another process.
  const acquire = database.prepare<{ name: string; holder: string; now: number; expiresAt: number }>(
    `INSERT INTO es_leases (name, holder, expires_at) VALUES (@name, @holder, @expiresAt)
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
     WHERE es_leases.holder = excluded.holder OR es_leases.expires_at <= @now`,
  );
  // Compare-and-swap on the holder, so two processes taking over a dead one's lease cannot both win.
  const takeOver = database.prepare<{ name: string; holder: string; previous: string; expiresAt: number }>(
    'UPDATE es_leases SET holder = @holder, expires_at = @expiresAt WHERE name = @name AND holder = @previous',
  );
  const remove = database.prepare<[string, string]>('DELETE FROM es_leases WHERE name = ? AND holder = ?');
  const select = database.prepare<[string, number], { holder: string; expires_at: number }>(
    'SELECT holder, expires_at FROM es_leases WHERE name = ? AND expires_at > ?',
  );

  const guarded = <A>(what: string, op: () => A): E.Either<StoreUnavailable, A> => {
    try {
      return E.right(op());
    } catch (e) {
      if (isUnavailableError(e)) {
        return E.left({
          _tag: 'StoreUnavailable',
          message: `lease "${name}": ${what}: ${e.code}; try again`,
          cause: e,
        });
      }
      throw e;
    }
  };

  return {
    tryAcquire: () =>
      guarded('acquire', () => {
        const t = now();
        if (acquire.run({ name, holder, now: t, expiresAt: t + ttlMs }).changes === 1) return true;
        const current = select.get(name, t);
        return current !== undefined && isHolderGone?.(current.holder) === true
          ? takeOver.run({ name, holder, previous: current.holder, expiresAt: t + ttlMs }).changes === 1
          : false;
      }),
    release: () =>
      guarded('release', () => {
        remove.run(name, holder);
      }),
    currentHolder: () =>
      guarded('read', () => {
        const row = select.get(name, now());
        return row === undefined ? undefined : { holder: row.holder, expiresAt: row.expires_at };
      }),
  };
};
