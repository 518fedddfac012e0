import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { PathReporter } from 'io-ts/lib/PathReporter.js';
import { brandClass, ErrorCodes, JobtrailError } from '../errors/index.js';

const NumberFromString = new t.Type<number, string, unknown>(
  'NumberFromString',
  (u): u is number => typeof u === 'number',
  (u, c) => {
    if (typeof u !== 'string' || u.trim() === '') return t.failure(u, c, 'expected a number');
    const n = Number(u);
    return Number.isFinite(n) && n >= 0 ? t.success(n) : t.failure(u, c, `expected a number ≥ 0, got ${JSON.stringify(u)}`);
  },
  String,
);

/** The environment variables jobtrail reads (all optional). */
export const EnvConfig = t.partial(
  {
    /** Store URL. Default: `sqlite:./.jobtrail/events.db`. */
    JOBTRAIL_STORE: t.string,
    /** Broker URL. Default: `memory`. */
    JOBTRAIL_BROKER: t.string,
    /** Module whose exports are workers, for `jobtrail run`/`enqueue`. */
    JOBTRAIL_WORKERS: t.string,
    /** pino level: `debug`, `info`, `warn`, `error`, `silent`. Default: `info` for `run`, `warn` otherwise. */
    JOBTRAIL_LOG_LEVEL: t.keyof({ trace: null, debug: null, info: null, warn: null, error: null, fatal: null, silent: null }),
    /** A file to append the log lines to (JSON lines), instead of stderr. Default: stderr. */
    JOBTRAIL_LOG_FILE: t.string,
    /** Shutdown grace period in ms. Default: 25 000. */
    JOBTRAIL_GRACE_MS: NumberFromString,
    /** Token the dashboard requires when bound beyond loopback. */
    JOBTRAIL_DASHBOARD_TOKEN: t.string,
    /** The project config file (as `--config`). Default: `jobtrail.config.json` (or .ts, .mjs, .js) found from the working directory up. */
    JOBTRAIL_CONFIG: t.string,
  },
  'EnvConfig',
);
export type EnvConfig = t.TypeOf<typeof EnvConfig>;

/** A bad environment variable: names it and what was wrong. */
export class ConfigError extends JobtrailError {
  static {
    brandClass(this, 'ConfigError');
  }
  constructor(message: string) {
    super(ErrorCodes.InvalidConfig, message);
    this.name = 'ConfigError';
  }
}

/** Reads jobtrail's settings from an environment (the only place that does). Unset or empty variables are absent. */
export const readEnvConfig = (env: Readonly<Record<string, string | undefined>>): EnvConfig => {
  const present = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('JOBTRAIL_') && v !== undefined && v !== ''));
  const decoded = EnvConfig.decode(present);
  if (E.isLeft(decoded)) throw new ConfigError(`invalid environment: ${PathReporter.report(decoded).join('; ')}`);
  return decoded.right;
};
