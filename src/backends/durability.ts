import { ErrorCodes, JobtrailError } from '../errors/index.js';

// Issue 24: the embedded store's durability, as SQLite users know it (`PRAGMA synchronous`, in WAL mode).

/**
 * When a commit of the embedded (SQLite) store is on disk, as SQLite's `synchronous` in WAL mode:
 * - `full` (the default): every commit is synced to disk before it is acknowledged: an acknowledged job
 *   survives a crash of the process and a power loss (or a crash of the operating system);
 * - `normal`: commits are written to the WAL, which is synced at checkpoints only: an acknowledged job survives a
 *   crash of the process (SIGKILL, an out-of-memory kill), but a power loss may lose the last commits before it
 *   (never corrupting the file).
 */
export type Synchronous = 'full' | 'normal';

/** The values of {@link Synchronous}, the default first. */
export const synchronousValues: readonly Synchronous[] = ['full', 'normal'];

/** The default: every commit synced. */
export const defaultSynchronous: Synchronous = 'full';

/** What each value promises, in a few words (for messages, `jobtrail doctor` and the start log). */
export const synchronousPromise: Readonly<Record<Synchronous, string>> = {
  full: 'every commit synced to disk: survives a process crash and a power loss',
  normal: 'commits synced at WAL checkpoints: survives a process crash; a power loss may lose the last commits',
};

/** The value `PRAGMA synchronous` reads for each (SQLite's numbering). */
export const synchronousPragma: Readonly<Record<Synchronous, number>> = { full: 2, normal: 1 };

const invalid = (message: string) => new JobtrailError(ErrorCodes.InvalidConfig, message);

const allowed = `"full" (the default: ${synchronousPromise.full}) or "normal" (${synchronousPromise.normal})`;

/** `value` as a {@link Synchronous} (any case); an `INVALID_CONFIG` error naming `where` and the allowed values otherwise. */
export const parseSynchronous = (value: unknown, where: string): Synchronous => {
  const v = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  if (v === 'full' || v === 'normal') return v;
  throw invalid(`${where} must be ${allowed}; got ${JSON.stringify(value) ?? String(value)}`);
};

/** The parts of a `sqlite:` store URL: `sqlite:<path>[?synchronous=full|normal]`. */
export interface SqliteUrl {
  /** The file path as written (relative to the working directory), or `:memory:`. */
  readonly path: string;
  /** `?synchronous=…`, when the URL says. */
  readonly synchronous?: Synchronous;
}

/** Whether `url` names the embedded store. */
export const isSqliteUrl = (url: unknown): boolean => typeof url === 'string' && url.startsWith('sqlite:');

/**
 * Parses a `sqlite:` store URL. Its query (after the first `?`) may hold `synchronous=full|normal`; any other
 * parameter, or a value other than those, is an `INVALID_CONFIG` error naming what is allowed.
 */
export const parseSqliteUrl = (url: string): SqliteUrl => {
  const rest = url.slice('sqlite:'.length);
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  if (q < 0 || q === rest.length - 1) return { path };
  const params = new URLSearchParams(rest.slice(q + 1));
  let synchronous: Synchronous | undefined;
  for (const [key, value] of params) {
    if (key !== 'synchronous')
      throw invalid(
        `event store URL "${url}": unknown parameter ${JSON.stringify(key)}; the one a sqlite: URL takes is synchronous=full|normal`,
      );
    if (synchronous !== undefined) throw invalid(`event store URL "${url}": synchronous is given twice; give it once`);
    synchronous = parseSynchronous(value, `event store URL "${url}": synchronous`);
  }
  return synchronous === undefined ? { path } : { path, synchronous };
};

/** `url` with its `synchronous` set to `value` (a `sqlite:` URL that does not say one already). */
export const withSynchronous = (url: string, value: Synchronous): string => `${url}${url.includes('?') ? '&' : '?'}synchronous=${value}`;

/**
 * The durability a `sqlite:` URL and an option (the engine's `synchronous`, `makeStore`'s) ask for together: the one
 * given, the default when neither is; an `INVALID_CONFIG` error when both are and differ.
 */
export const resolveSynchronous = (url: string, fromUrl: Synchronous | undefined, option: unknown): Synchronous => {
  const fromOption = option === undefined ? undefined : parseSynchronous(option, 'the synchronous option');
  if (fromUrl !== undefined && fromOption !== undefined && fromUrl !== fromOption)
    throw invalid(
      `event store URL "${url}" says synchronous=${fromUrl} but the synchronous option says "${fromOption}": give one, or the same in both`,
    );
  return fromUrl ?? fromOption ?? defaultSynchronous;
};
