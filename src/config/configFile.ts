import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { ConfigError } from './config.js';
import { isSqliteUrl, parseSqliteUrl, synchronousPromise } from '../backends/durability.js';
import { checkQueuesSetting, checkRetentionSetting, type QueueSettings, type RetentionSettings } from './operatorSettings.js';

// Issue 22: the project config file (`jobtrail.config.json`, or `.ts`/`.mjs`/`.js` exporting default an object),
// checked here; found and loaded by the CLI (src/cli/projectConfig.ts). Precedence: flag > environment > file > default.

const milliseconds = new t.Type<number, number, unknown>(
  'a number of milliseconds ≥ 0',
  (u): u is number => typeof u === 'number' && Number.isFinite(u) && u >= 0,
  (u, c) => (typeof u === 'number' && Number.isFinite(u) && u >= 0 ? t.success(u) : t.failure(u, c)),
  t.identity,
);

const nonEmpty = new t.Type<string, string, unknown>(
  'a non-empty string',
  (u): u is string => typeof u === 'string' && u.trim() !== '',
  (u, c) => (typeof u === 'string' && u.trim() !== '' ? t.success(u) : t.failure(u, c)),
  t.identity,
);

// Issue 24: the embedded store's durability, any case (as in the store URL's ?synchronous=).
const synchronous = new t.Type<'full' | 'normal', string, unknown>(
  `"full" (the default: ${synchronousPromise.full}) or "normal" (${synchronousPromise.normal})`,
  (u): u is 'full' | 'normal' => u === 'full' || u === 'normal',
  (u, c) => {
    const v = typeof u === 'string' ? u.trim().toLowerCase() : undefined;
    return v === 'full' || v === 'normal' ? t.success(v) : t.failure(u, c);
  },
  t.identity,
);

const logLevels = { trace: null, debug: null, info: null, warn: null, error: null, fatal: null, silent: null };
const logLevel = t.keyof(logLevels, `one of ${Object.keys(logLevels).join(', ')}`);

/** The keys of a config file, all optional. */
const fileProps = {
  /** A JSON schema reference for editors; ignored. */
  $schema: t.string,
  /** The store URL; a relative `sqlite:` path is relative to the file's directory. */
  store: nonEmpty,
  /** The broker URL (`memory`, `amqp://…`). */
  broker: nonEmpty,
  /** The workers module; a relative path is relative to the file's directory. */
  workers: nonEmpty,
  /** The pino level of every command (`jobtrail run`'s default is `info`, the others' `warn`). */
  logLevel,
  /** `jobtrail run`: how long running jobs get at SIGTERM. */
  gracePeriodMs: milliseconds,
  /** `jobtrail run`: the sweep for stranded jobs (0: none). */
  sweepIntervalMs: milliseconds,
  /** `jobtrail run`: how long past its due time a job waits before the sweep dispatches it again. */
  sweepGraceMs: milliseconds,
  /** `jobtrail run`: how often a process records its heartbeat while it runs attempts (0: none). */
  heartbeatIntervalMs: milliseconds,
  /** The embedded store's durability (SQLite's synchronous): `full` (default) or `normal`; as `?synchronous=` in `store`. */
  synchronous,
  queues: t.unknown,
  /** `jobtrail run`: how long final jobs are kept (`--retention` overrides it; checked by `checkRetentionSetting`). */
  retention: t.unknown,
};

export const ConfigFileSettings = t.partial(fileProps, 'ConfigFileSettings');
export type ConfigFileSettings = Omit<t.TypeOf<typeof ConfigFileSettings>, '$schema' | 'queues' | 'retention'> & {
  readonly queues?: Readonly<Record<string, QueueSettings>>;
  readonly retention?: RetentionSettings;
};

/** The keys a config file may have. */
export const configFileKeys: readonly string[] = Object.keys(fileProps);

/** A config file's settings, with the file they came from (absolute). */
export interface ProjectConfig extends ConfigFileSettings {
  readonly file: string;
}

const show = (value: unknown): string => {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}…` : text;
};

/** The smallest number of single-character edits from `a` to `b` (for "did you mean"). */
const distance = (a: string, b: string): number => {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
};

/**
 * Checks what a config file holds: an object with known keys of the right types. Throws `ConfigError`, one line naming
 * the file and the key, otherwise. Paths are not resolved here (see `resolveConfigPaths`).
 */
export const checkConfigFile = (file: string, value: unknown): ConfigFileSettings => {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConfigError(
      `${file}: expected an object of settings, e.g. {"store": "sqlite:./jobs.db", "broker": "memory"}; got ${show(value)}`,
    );
  for (const key of Object.keys(value)) {
    if (configFileKeys.includes(key)) continue;
    const near = configFileKeys.filter((k) => k !== '$schema' && distance(key, k) <= 2);
    throw new ConfigError(
      `${file}: unknown key ${JSON.stringify(key)}${near.length > 0 ? ` (did you mean ${JSON.stringify(near[0])}?)` : ''}; ` +
        `the keys are ${configFileKeys.filter((k) => k !== '$schema').join(', ')}`,
    );
  }
  const decoded = ConfigFileSettings.decode(value);
  if (E.isLeft(decoded)) {
    const problems = decoded.left.map((e) => {
      const entry = e.context[e.context.length - 1];
      const key = e.context.map((c) => c.key).filter((k) => k !== '')[0] ?? '?';
      return `${JSON.stringify(key)} must be ${entry?.type.name ?? 'valid'}, got ${show(e.value)}`;
    });
    throw new ConfigError(`${file}: ${[...new Set(problems)].join('; ')}`);
  }
  const { $schema: _schema, queues, retention, ...settings } = decoded.right;
  checkDurability(file, settings);
  return {
    ...settings,
    ...(queues !== undefined ? { queues: checkQueuesSetting(file, queues) } : {}),
    ...(retention !== undefined ? { retention: checkRetentionSetting(file, retention) } : {}),
  };
};

/** The store URL's own `?synchronous=` is valid, and says the same as the `synchronous` key when both are there. */
const checkDurability = (file: string, settings: ConfigFileSettings): void => {
  const { store } = settings;
  if (store !== undefined && isSqliteUrl(store)) {
    let fromUrl: string | undefined;
    try {
      fromUrl = parseSqliteUrl(store).synchronous;
    } catch (error) {
      throw new ConfigError(`${file}: "store": ${(error as Error).message}`);
    }
    if (fromUrl !== undefined && settings.synchronous !== undefined && fromUrl !== settings.synchronous)
      throw new ConfigError(
        `${file}: "store" says synchronous=${fromUrl} but "synchronous" says "${settings.synchronous}": keep one of them`,
      );
  } else if (store !== undefined && settings.synchronous !== undefined)
    throw new ConfigError(
      `${file}: "synchronous" is the embedded SQLite store's durability, and "store" is not a sqlite: URL: remove "synchronous"`,
    );
};
