import type { MetricsOptions } from '../metrics/index.js';
import type { RetentionOption } from '../conductor/index.js';
import { existsSync } from 'node:fs';
import { InvalidArgumentError, Option } from 'commander';
import { embeddedStoreFile } from '../backends/index.js';
import * as E from 'fp-ts/lib/Either.js';
import type { EnvConfig, ProjectConfig } from '../config/index.js';
import { BrokerMismatchError, describeBrokerRecord } from '../conductor/index.js';
import { createEngine, defaultBrokerUrl, defaultStoreUrl, type Engine } from '../engine.js';
import { isJobtrailError, ErrorCodes } from '../errors/index.js';
import { IsoDate } from '../job/index.js';
import { makeLogger, redactUrl, type Logger } from '../log/index.js';
import { loadWorkers, type Worker } from '../worker/index.js';
import { UserError } from './errors.js';
import { loadProjectConfig } from './projectConfig.js';
import { fileSynchronous } from './durability.js';

/** The CLI's outside world, injected so that it runs in-process too. */
export interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Ends the process now, without waiting for anything: `run` calls it on a
   * second SIGINT or SIGTERM. `bin.ts` passes `process.exit`; without it, a
   * second signal is only reported.
   */
  readonly exit?: (code: number) => void;
  /** Where the project config file is looked for (from here up). Default: `process.cwd()`. */
  readonly cwd?: string;
}

/** The options that pick the engine's adapters and workers; absent ones come from the environment, then the defaults. */
export interface Common {
  store?: string;
  broker?: string;
  workers?: string;
}

/** What the engine of a command is opened with, besides `Common`. */
export interface EngineExtras {
  /** Workers to register instead of the `--workers` module's. */
  readonly workers?: readonly Worker<unknown>[];
  /** The log level unless JOBTRAIL_LOG_LEVEL says otherwise; default `warn`. */
  readonly logLevel?: string;
  readonly recover?: boolean;
  readonly acceptCommands?: boolean;
  /** `jobtrail run`'s sweep and heartbeat settings (flags); absent ones come from the config file, then the engine's defaults. */
  readonly sweepIntervalMs?: number;
  readonly sweepGraceMs?: number;
  readonly heartbeatIntervalMs?: number;
  /** `jobtrail run --retention` (docs/retention.md); absent: the engine's defaults. */
  readonly retention?: RetentionOption;
  /** Prometheus metrics into this registry (docs/metrics.md): `run --metrics-port`, `dashboard`. */
  readonly metrics?: MetricsOptions;
  /**
   * Check the store's broker before `f` runs, for this command (`dashboard`, whose actions dispatch): refused when the store's
   * jobs are dispatched by a broker of another kind. The engine's own enqueue, retry, cancel and start check anyway.
   */
  readonly checkBroker?: string;
  /**
   * The command only reads: the store must exist already. Opening an embedded
   * store creates its file, so a missing `sqlite:` file is an error naming the
   * path looked at, and nothing is created. `enqueue`, `run` and `demo` may create.
   */
  readonly readOnly?: boolean;
}

/** What every command's `register` is given. */
export interface Context {
  readonly io: Io;
  readonly config: EnvConfig;
  /** The project config file's settings (`jobtrail.config.json`, …), once `loadProject` ran; `undefined` when there is none. */
  readonly project: () => ProjectConfig | undefined;
  /** Finds and loads the project config file (`--config`, else JOBTRAIL_CONFIG, else found from the working directory up). */
  readonly loadProject: (configFlag?: string) => Promise<void>;
  /** The exit code `runCli` returns when the command ends without an error; default 0. */
  exitCode: number;
  /** A logger at JOBTRAIL_LOG_LEVEL, else at `fallback`. */
  readonly logger: (fallback: string) => Logger;
  /** `--store`, else JOBTRAIL_STORE, else the config file's `store`, else the embedded default. */
  readonly storeUrl: (opts: Common) => string;
  /** `--broker`, else JOBTRAIL_BROKER, else the config file's `broker`, else `memory`. */
  readonly brokerUrl: (opts: Common) => string;
  /** The store a command uses, for people: an embedded file as its absolute path, a server URL without its password. */
  readonly storeLabel: (opts: Common) => string;
  /** `--workers`, else JOBTRAIL_WORKERS, else the config file's `workers`. */
  readonly workersModule: (opts: Common) => string | undefined;
  /** The store and broker the last `withEngine` opened (as people read them), for the messages of connection failures. */
  readonly connecting: { store?: string; broker?: string };
  /** Opens an engine, runs `f` on it, and closes it (without a grace period) whatever `f` does. */
  readonly withEngine: <T>(opts: Common, f: (engine: Engine) => Promise<T>, extra?: EngineExtras) => Promise<T>;
}

/** The context of one `runCli` call, from its `Io` and the settings read from `io.env`. */
export const makeContext = (io: Io, config: EnvConfig): Context => {
  // Issue 22: the project config file; precedence flag > environment > file > default.
  let project: ProjectConfig | undefined;
  const loadProject = async (configFlag?: string): Promise<void> => {
    const cwd = io.cwd ?? process.cwd();
    project = await loadProjectConfig(
      cwd,
      configFlag !== undefined
        ? { path: configFlag, from: '--config' }
        : config.JOBTRAIL_CONFIG !== undefined
          ? { path: config.JOBTRAIL_CONFIG, from: 'JOBTRAIL_CONFIG' }
          : undefined,
    );
  };
  const logger = (fallback: string): Logger => {
    const level = config.JOBTRAIL_LOG_LEVEL ?? project?.logLevel ?? fallback;
    const file = config.JOBTRAIL_LOG_FILE;
    try {
      return makeLogger({ level, ...(file !== undefined ? { file } : {}) });
    } catch (error) {
      throw new UserError(`cannot open the log file ${JSON.stringify(file)} (JOBTRAIL_LOG_FILE): ${(error as Error).message}`, 2);
    }
  };
  const storeUrl = (opts: Common): string => opts.store ?? config.JOBTRAIL_STORE ?? project?.store ?? defaultStoreUrl;
  const brokerUrl = (opts: Common): string => opts.broker ?? config.JOBTRAIL_BROKER ?? project?.broker ?? defaultBrokerUrl;
  /** Where a setting came from, for messages. */
  const sourceOf = (flag: unknown, flagName: string, env: unknown, envName: string, file: unknown): string =>
    flag !== undefined
      ? flagName
      : env !== undefined
        ? envName
        : file !== undefined
          ? project!.file
          : 'the default, relative to this directory';
  const storeLabel = (opts: Common): string => {
    const url = storeUrl(opts);
    const file = embeddedStoreFile(url);
    return file !== undefined ? `sqlite:${file}` : redactUrl(url);
  };
  const workersModule = (opts: Common): string | undefined => opts.workers ?? config.JOBTRAIL_WORKERS ?? project?.workers;
  /** A command that only reads never creates a store: it fails naming the file it looked for, and where that name came from. */
  const requireStore = (opts: Common): void => {
    const url = storeUrl(opts);
    const file = embeddedStoreFile(url);
    if (file === undefined || existsSync(file)) return;
    const from = sourceOf(opts.store, '--store', config.JOBTRAIL_STORE, 'JOBTRAIL_STORE', project?.store);
    throw new UserError(
      `no jobtrail store at ${file} (${url}, from ${from}); nothing was created. ` +
        'Run this where the store is (where jobtrail run or enqueue ran), or name it with --store sqlite:<path>, JOBTRAIL_STORE or jobtrail.config.json.',
    );
  };
  /** A refusal of the store's broker, in the CLI's words: which broker, from where, and the fix. */
  const brokerRefusal = (error: BrokerMismatchError, opts: Common, command?: string): UserError => {
    const r = error.recorded;
    const from = sourceOf(opts.broker, '--broker', config.JOBTRAIL_BROKER, 'JOBTRAIL_BROKER', project?.broker).replace(
      ', relative to this directory',
      '',
    );
    const use = r.url !== undefined ? r.url.replace(/:\*\*\*@/, ':<password>@') : r.kind === 'memory' ? 'memory' : `<the ${r.kind} URL>`;
    return new UserError(
      `${error.action === 'checkBroker' ? (command ?? 'the command') : error.action} refused: this store's jobs are dispatched by ${describeBrokerRecord(r)}, not by ${brokerUrl(opts) === 'memory' ? 'memory' : redactUrl(brokerUrl(opts))} ` +
        `(from ${from}); nothing was recorded. Use --broker ${use} or set "broker" in jobtrail.config.json; ` +
        'to switch this store to another broker: jobtrail broker set <url>',
    );
  };
  const connecting: { store?: string; broker?: string } = {};
  const withEngine = async <T>(opts: Common, f: (engine: Engine) => Promise<T>, extra: EngineExtras = {}): Promise<T> => {
    if (extra.readOnly === true) requireStore(opts);
    connecting.store = storeLabel(opts);
    connecting.broker = brokerUrl(opts) === 'memory' ? 'memory' : redactUrl(brokerUrl(opts));
    const workersFrom = workersModule(opts);
    const sweepIntervalMs = extra.sweepIntervalMs ?? project?.sweepIntervalMs;
    const sweepGraceMs = extra.sweepGraceMs ?? project?.sweepGraceMs;
    const heartbeatIntervalMs = extra.heartbeatIntervalMs ?? project?.heartbeatIntervalMs;
    const gracePeriodMs = config.JOBTRAIL_GRACE_MS ?? project?.gracePeriodMs;
    const engine = await createEngine({
      store: storeUrl(opts),
      ...fileSynchronous(storeUrl(opts), project),
      broker: brokerUrl(opts),
      workers: extra.workers ?? (workersFrom ? await loadWorkers(workersFrom) : []),
      logger: logger(extra.logLevel ?? 'warn'),
      ...(gracePeriodMs !== undefined ? { gracePeriodMs } : {}),
      ...(extra.recover !== undefined ? { recover: extra.recover } : {}),
      ...(extra.acceptCommands !== undefined ? { acceptCommands: extra.acceptCommands } : {}),
      ...(sweepIntervalMs !== undefined ? { sweepIntervalMs } : {}),
      ...(sweepGraceMs !== undefined ? { sweepGraceMs } : {}),
      ...(heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs } : {}),
      ...(extra.retention !== undefined ? { retention: extra.retention } : {}),
      ...(extra.metrics !== undefined ? { metrics: extra.metrics } : {}),
      // Issue 22: "queues" (rate limits) and "retention" of jobtrail.config.json; a --retention flag wins.
      ...(project?.queues !== undefined ? { queues: project.queues } : {}),
      ...(extra.retention === undefined && project?.retention !== undefined ? { retention: project.retention } : {}),
    });
    try {
      if (extra.checkBroker !== undefined) await engine.checkBroker();
      return await f(engine);
    } catch (error) {
      if (isJobtrailError(error, ErrorCodes.BrokerMismatch)) throw brokerRefusal(error as BrokerMismatchError, opts, extra.checkBroker);
      throw error;
    } finally {
      await engine.close({ gracePeriodMs: 0 });
    }
  };
  return {
    io,
    config,
    project: () => project,
    loadProject,
    exitCode: 0,
    logger,
    storeUrl,
    brokerUrl,
    storeLabel,
    workersModule,
    connecting,
    withEngine,
  };
};

export const storeOption = (): Option =>
  new Option(
    '--store <url>',
    `event store URL (sqlite:<path>, sqlite::memory:, esdb://…) [env JOBTRAIL_STORE; jobtrail.config.json "store"; default ${defaultStoreUrl}]`,
  );

export const brokerOption = (): Option =>
  new Option(
    '--broker <url>',
    `broker URL (memory, amqp://…) [env JOBTRAIL_BROKER; jobtrail.config.json "broker"; default ${defaultBrokerUrl}]`,
  );

export const workersOption = (): Option =>
  new Option(
    '--workers <module>',
    'module whose exports are workers (defineWorker or Worker subclasses) [env JOBTRAIL_WORKERS; jobtrail.config.json "workers"]',
  );

export const parseJson =
  (what: string) =>
  (text: string): unknown => {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new InvalidArgumentError(`${what} is not valid JSON (${(error as Error).message}): ${text.slice(0, 200)}`);
    }
  };

export const parsePositiveInt =
  (what: string) =>
  (text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a whole number ≥ 1, got ${JSON.stringify(text)}`);
    return n;
  };

/** A duration flag in milliseconds: a whole number ≥ 0; anything else is a usage error naming the flag. */
export const parseMilliseconds =
  (what: string) =>
  (text: string): number => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${what} takes milliseconds, a whole number ≥ 0 (e.g. 15000), got ${JSON.stringify(text)}`);
    return n;
  };

/** `--priority`: a finite number (higher runs first; default 0); anything else is a usage error (exit 2). */
export const parsePriority = (text: string): number => {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n))
    throw new UserError(`--priority takes a finite number (higher runs first; default 0), e.g. 5 or -1; got ${JSON.stringify(text)}`, 2);
  return n;
};

export const parsePort = (text: string): number => {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65_535)
    throw new InvalidArgumentError(`--port must be a whole number from 0 to 65535 (0 picks a free port), got ${JSON.stringify(text)}`);
  return n;
};

/** `--at`: an ISO-8601 time with a time zone; anything else is a usage error naming the format. */
export const parseAt = (text: string): Date => {
  if (E.isLeft(IsoDate.decode(text)))
    throw new UserError(
      `--at takes an ISO-8601 time with a time zone, e.g. 2026-11-28T10:59:19Z or 2026-11-28T11:59:19.250+01:00; got ${JSON.stringify(text)}`,
      2,
    );
  return new Date(text);
};

/** Resolves at the first SIGINT or SIGTERM with its name, or with `undefined` once `abort` is aborted (its listeners then removed). */
export const untilSignal = (abort?: AbortSignal): Promise<NodeJS.Signals | undefined> =>
  new Promise((resolve) => {
    const done = (signal: NodeJS.Signals | undefined) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      abort?.removeEventListener('abort', onAbort);
      resolve(signal);
    };
    const onSignal = (signal: NodeJS.Signals) => done(signal);
    const onAbort = () => done(undefined);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    abort?.addEventListener('abort', onAbort);
  });
