import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, readEnvConfig, type EnvConfig } from '../config/index.js';
import { createEngine, defaultBrokerUrl, defaultStoreUrl, engineVersion, type Engine } from '../engine.js';
import { JobNotFoundError } from '../conductor/index.js';
import { ErrorCodes, isJobtrailError, type ErrorCode } from '../errors/index.js';
import * as E from 'fp-ts/lib/Either.js';
import { eventTime, evolve, initialJobState, isFinal, IsoDate, JobStatuses, type JobState, type JobStatus } from '../job/index.js';
import { demoWorkers, runDemo } from '../demo/index.js';
import { loadWorkers, type Worker } from '../worker/index.js';
import { makeLogger, redactUrl, type Logger } from '../log/index.js';
import { checkBinding, DashboardConfigError, runDashboard, type DashboardHandle } from '../dashboard/index.js';
import { formatHistory, formatJobTable, formatView, historyJsonLine, viewAt } from '../present/index.js';
import { projectionsDir } from '../projections/index.js';

/** A failure the user can fix: printed without a stack, exit code 1 (2 for usage). */
class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

const parseJson =
  (what: string) =>
  (text: string): unknown => {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new InvalidArgumentError(`${what} is not valid JSON (${(error as Error).message}): ${text.slice(0, 200)}`);
    }
  };

const parsePositiveInt =
  (what: string) =>
  (text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a whole number ≥ 1, got ${JSON.stringify(text)}`);
    return n;
  };

const parsePort = (text: string): number => {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65_535)
    throw new InvalidArgumentError(`--port must be a whole number from 0 to 65535 (0 picks a free port), got ${JSON.stringify(text)}`);
  return n;
};

/** `--at`: an ISO-8601 time with a time zone; anything else is a usage error naming the format. */
const parseAt = (text: string): Date => {
  if (E.isLeft(IsoDate.decode(text)))
    throw new UserError(
      `--at takes an ISO-8601 time with a time zone, e.g. 2026-11-28T10:59:19Z or 2026-11-28T11:59:19.250+01:00; got ${JSON.stringify(text)}`,
      2,
    );
  return new Date(text);
};

/** Resolves at the first SIGINT or SIGTERM with its name, or with `undefined` once `abort` is aborted (its listeners then removed). */
const untilSignal = (abort?: AbortSignal): Promise<NodeJS.Signals | undefined> =>
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

/** `runDashboard`, with its refusals (a non-loopback host without a token, a port in use) turned into errors the user can fix. */
const startDashboard = async (options: Parameters<typeof runDashboard>[0]): Promise<DashboardHandle> => {
  try {
    return await runDashboard(options);
  } catch (error) {
    if (error instanceof DashboardConfigError) throw new UserError(error.message, 2);
    throw error;
  }
};

const statusChoices = Object.values(JobStatuses);

interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

interface Common {
  store?: string;
  broker?: string;
  workers?: string;
}

/** Runs the `jobtrail` command line; returns the exit code. The only place that reads argv. */
export const runCli = async (argv: readonly string[], io: Io): Promise<number> => {
  let config: EnvConfig;
  try {
    config = readEnvConfig(io.env);
  } catch (error) {
    io.err(`jobtrail: ${(error as ConfigError).message}`);
    return 2;
  }
  let exitCode = 0;
  const program = new Command('jobtrail')
    .description('An event-sourced background job engine: every job is an event stream.')
    .version(engineVersion, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) })
    .showHelpAfterError('(add --help for usage)');

  const storeOption = () =>
    new Option(
      '--store <url>',
      `event store URL (sqlite:<path>, sqlite::memory:, esdb://…) [env JOBTRAIL_STORE; default ${defaultStoreUrl}]`,
    );
  const brokerOption = () =>
    new Option('--broker <url>', `broker URL (memory, amqp://…) [env JOBTRAIL_BROKER; default ${defaultBrokerUrl}]`);
  const workersOption = () =>
    new Option('--workers <module>', 'module whose exports are workers (defineWorker or Worker subclasses) [env JOBTRAIL_WORKERS]');

  const logger = (fallback: string): Logger => makeLogger({ level: config.JOBTRAIL_LOG_LEVEL ?? fallback });

  const withEngine = async <T>(
    opts: Common,
    f: (engine: Engine) => Promise<T>,
    extra: { workers?: readonly Worker<unknown>[]; logLevel?: string; recover?: boolean; acceptCommands?: boolean } = {},
  ): Promise<T> => {
    const workers =
      extra.workers ?? ((opts.workers ?? config.JOBTRAIL_WORKERS) ? await loadWorkers((opts.workers ?? config.JOBTRAIL_WORKERS)!) : []);
    const engine = await createEngine({
      store: opts.store ?? config.JOBTRAIL_STORE ?? defaultStoreUrl,
      broker: opts.broker ?? config.JOBTRAIL_BROKER ?? defaultBrokerUrl,
      workers,
      logger: logger(extra.logLevel ?? 'warn'),
      ...(config.JOBTRAIL_GRACE_MS !== undefined ? { gracePeriodMs: config.JOBTRAIL_GRACE_MS } : {}),
      ...(extra.recover !== undefined ? { recover: extra.recover } : {}),
      ...(extra.acceptCommands !== undefined ? { acceptCommands: extra.acceptCommands } : {}),
    });
    try {
      return await f(engine);
    } finally {
      await engine.close({ gracePeriodMs: 0 });
    }
  };

  program
    .command('demo')
    .description(
      'run the main job on the embedded default: some hundreds of example jobs, retries included, then a summary and a replayed history',
    )
    .addOption(storeOption())
    .option('--emails <n>', 'email jobs to enqueue', parsePositiveInt('--emails'), 300)
    .option('--imports <n>', 'CSV import jobs to enqueue', parsePositiveInt('--imports'), 4)
    .option('--timeout <ms>', 'give up after this many milliseconds', parsePositiveInt('--timeout'), 120_000)
    .option('--dashboard', "serve the web dashboard while the demo runs, and keep serving it on the demo's data afterwards until Ctrl-C")
    .option('--port <n>', "the dashboard's port (with --dashboard; 0 picks a free one)", parsePort, 7070)
    .action(async (opts: Common & { emails: number; imports: number; timeout: number; dashboard?: boolean; port: number }) => {
      io.out(`jobtrail demo: store ${redactUrl(opts.store ?? config.JOBTRAIL_STORE ?? defaultStoreUrl)}, in-process broker`);
      await withEngine(
        { ...opts, broker: 'memory' },
        async (engine) => {
          const recovered = await engine.start();
          if (recovered && recovered.dispatched + recovered.lost > 0)
            io.out(`recovered ${recovered.dispatched} waiting and ${recovered.lost} interrupted jobs from an earlier run`);
          const token = config.JOBTRAIL_DASHBOARD_TOKEN;
          const dashboard = opts.dashboard
            ? await startDashboard({ engine, port: opts.port, ...(token !== undefined ? { token } : {}), logger: logger('warn') })
            : undefined;
          try {
            if (dashboard)
              io.out(`dashboard: ${dashboard.url}${token !== undefined ? ' (sign in with ?token=<JOBTRAIL_DASHBOARD_TOKEN>)' : ''}`);
            await runDemo(engine, {
              emails: opts.emails,
              imports: opts.imports,
              timeoutMs: opts.timeout,
              out: io.out,
              ...(recovered ? { recovered: recovered.jobIds } : {}),
            });
            io.out('');
            io.out('look closer: npx jobtrail list --status errored · npx jobtrail show <jobId> · npx jobtrail history <jobId>');
            if (!dashboard)
              io.out('see it in the dashboard: npm start -- --dashboard (or npx jobtrail dashboard), then open http://127.0.0.1:7070');
            if (dashboard) {
              // The projections fold asynchronously: let them take in the demo's last events first.
              await engine.projections();
              io.out(`the dashboard keeps serving the demo's jobs at ${dashboard.url} — Ctrl-C stops`);
              await untilSignal();
            }
          } finally {
            await dashboard?.stop();
          }
        },
        { workers: demoWorkers as Worker<unknown>[] },
      );
    });

  program
    .command('run')
    .description('run workers: consume their work queues until SIGTERM or SIGINT (a second one forces exit)')
    .addOption(storeOption())
    .addOption(brokerOption())
    .addOption(workersOption())
    .option(
      '--recover',
      'at start, dispatch the jobs a crash may have left undispatched (initial, or waiting for a retry) and record WorkerLost for attempts of processes on this host that are gone [default: on with the memory broker, off with RabbitMQ, which keeps its messages]',
    )
    .option('--no-recover', 'do not recover at start')
    .option(
      '--no-accept-commands',
      'do not consume the enqueue commands producers publish to jobtrail.enqueue (they need a process that registers every worker they name) [default: consume them with RabbitMQ]',
    )
    .action(async (opts: Common & { recover?: boolean; acceptCommands?: boolean }) => {
      if (!(opts.workers ?? config.JOBTRAIL_WORKERS)) throw new UserError('jobtrail run needs --workers <module> (or JOBTRAIL_WORKERS)', 2);
      await withEngine(
        opts,
        async (engine) => {
          const report = await engine.start();
          io.err(
            `jobtrail run: ${engine.registry.names.join(', ')} on ${engine.adapters.broker}, store ${engine.adapters.store}; SIGTERM or Ctrl-C stops`,
          );
          if (report)
            io.err(
              `jobtrail run: recovered: ${report.dispatched} dispatched, ${report.lost} attempts of gone processes recorded as WorkerLost, ${report.skipped} left as they were`,
            );
          await new Promise<void>((resolve) => {
            let signals = 0;
            const onSignal = (signal: NodeJS.Signals) => {
              signals++;
              if (signals > 1) {
                io.err(`jobtrail run: ${signal} again: forcing exit`);
                process.exit(130);
              }
              io.err(`jobtrail run: ${signal}: stopping (running jobs get the grace period)`);
              void engine.stop().then(resolve, resolve);
            };
            process.on('SIGTERM', onSignal);
            process.on('SIGINT', onSignal);
          });
        },
        {
          logLevel: 'info',
          ...(opts.recover !== undefined ? { recover: opts.recover } : {}),
          // Commander sets it to true unless --no-accept-commands is given: only "no" is the user's choice.
          ...(opts.acceptCommands === false ? { acceptCommands: false } : {}),
        },
      );
    });

  program
    .command('enqueue')
    .description('enqueue a job: records JobEnqueued and dispatches it')
    .argument('<workerName>', 'the worker to run')
    .argument('[payload]', 'the payload as JSON', parseJson('the payload'), {})
    .addOption(storeOption())
    .addOption(brokerOption())
    .addOption(workersOption())
    .option('--job-id <id>', 'the dedupe key: the same id enqueued twice makes one job')
    .option('--queue <name>', "named queue (default: the worker's)")
    .option('--max-attempts <n>', "attempts in all (default: the worker's)", parsePositiveInt('--max-attempts'))
    .option('--run-at <time>', 'run no earlier than this ISO-8601 time')
    .option('--by <name>', 'who enqueued it, for the record')
    .option('--json', 'print the result as JSON')
    .action(
      async (
        workerName: string,
        payload: unknown,
        opts: Common & { jobId?: string; queue?: string; maxAttempts?: number; runAt?: string; by?: string; json?: boolean },
      ) => {
        if (!(opts.workers ?? config.JOBTRAIL_WORKERS))
          throw new UserError('jobtrail enqueue needs --workers <module> (or JOBTRAIL_WORKERS) to check the worker name and payload', 2);
        await withEngine(
          opts,
          async (engine) => {
            const r = await engine.enqueue(workerName, payload, {
              ...(opts.jobId !== undefined ? { jobId: opts.jobId } : {}),
              ...(opts.queue !== undefined ? { queue: opts.queue } : {}),
              ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
              ...(opts.runAt !== undefined ? { runAt: opts.runAt } : {}),
              enqueuedBy: opts.by ?? 'cli',
            });
            io.out(
              opts.json
                ? JSON.stringify({ ok: true, jobId: r.jobId, created: r.created })
                : `${r.created ? 'enqueued' : 'exists already'}: ${r.jobId}`,
            );
          },
          { recover: false },
        );
      },
    );

  program
    .command('show')
    .description("a job's current state")
    .argument('<jobId>')
    .addOption(storeOption())
    .option('--json', 'print the view as JSON')
    .action(async (jobId: string, opts: Common & { json?: boolean }) => {
      await withEngine(
        { ...opts, broker: 'memory' },
        async (engine) => {
          const view = await engine.getJob(jobId);
          if (!view) throw new JobNotFoundError(jobId);
          io.out(opts.json ? JSON.stringify(view, null, 2) : formatView(view));
        },
        { recover: false },
      );
    });

  program
    .command('list')
    .description('jobs, newest first')
    .addOption(storeOption())
    .addOption(new Option('--status <status>', 'only jobs in this status').choices(statusChoices))
    .option('--worker <name>', 'only jobs of this worker')
    .option('--limit <n>', 'at most this many', parsePositiveInt('--limit'), 50)
    .option('--json', 'print JSON lines')
    .action(async (opts: Common & { status?: JobStatus; worker?: string; limit: number; json?: boolean }) => {
      await withEngine(
        { ...opts, broker: 'memory' },
        async (engine) => {
          const jobs = await engine.listJobs({
            limit: opts.limit,
            ...(opts.status ? { status: opts.status } : {}),
            ...(opts.worker ? { workerName: opts.worker } : {}),
          });
          io.out(opts.json ? jobs.map((j) => JSON.stringify(j)).join('\n') : formatJobTable(jobs));
        },
        { recover: false },
      );
    });

  program
    .command('history')
    .description("replay a job's history: every event, its revision, time, time since the previous one, attempt, and errors with stacks")
    .argument('<jobId>')
    .addOption(storeOption())
    .option('--json', 'print the events as JSON lines (with --at: the view as JSON)')
    .option(
      '-f, --follow',
      'keep printing new events as they are appended, until the job is final (completed, cancelled, or failed for good); then exit 0',
    )
    .option(
      '--at <time>',
      "print the job's view as it was at this ISO-8601 time (e.g. 2026-11-28T10:59:19Z), folded from the events that happened by then",
    )
    .action(async (jobId: string, opts: Common & { json?: boolean; follow?: boolean; at?: string }) => {
      if (opts.follow && opts.at !== undefined)
        throw new UserError('--follow and --at do not go together: --at shows a moment of the past, --follow waits for what comes next', 2);
      const at = opts.at !== undefined ? parseAt(opts.at) : undefined;
      await withEngine(
        { ...opts, broker: 'memory' },
        async (engine) => {
          if (opts.follow) {
            exitCode = await followHistory(engine, jobId, opts.json === true);
            return;
          }
          const events = await engine.history(jobId);
          if (events.length === 0) throw new JobNotFoundError(jobId);
          if (at !== undefined) {
            const past = viewAt(events, at);
            if (past === undefined)
              throw new UserError(
                `job "${jobId}" did not exist yet at ${at.toISOString()}: it was enqueued at ${eventTime(events[0]!.event)}`,
              );
            const lastAt = eventTime(past.last.event);
            io.out(
              opts.json
                ? JSON.stringify(
                    {
                      at: at.toISOString(),
                      revision: past.last.revision,
                      lastEvent: past.last.event.type,
                      lastEventAt: lastAt,
                      view: past.view,
                    },
                    null,
                    2,
                  )
                : `as of ${at.toISOString()}: revision ${past.last.revision} (${past.last.event.type} at ${lastAt}), ${past.folded} of ${past.total} events\n${formatView(past.view)}`,
            );
            return;
          }
          io.out(opts.json ? events.map(historyJsonLine).join('\n') : formatHistory(events));
        },
        { recover: false },
      );
    });

  /** Prints the history, then each new event, until the job is final (0) or a signal stops it (130). */
  const followHistory = async (engine: Engine, jobId: string, json: boolean): Promise<number> => {
    let state: JobState = initialJobState;
    let previous: string | undefined;
    let settle!: (outcome: { final: true } | { error: Error }) => void;
    const outcome = new Promise<{ final: true } | { error: Error }>((resolve) => (settle = resolve));
    const follow = await engine.follow(jobId, {
      onEvent: (r) => {
        io.out(json ? historyJsonLine(r) : formatHistory([r], previous !== undefined ? { previousTime: previous } : {}));
        previous = eventTime(r.event);
        state = evolve(state, r.event);
        if (isFinal(state)) settle({ final: true });
      },
      onError: (error) => settle({ error: new Error(`following job "${jobId}" stopped: ${error.message}`) }),
    });
    const stopWaiting = new AbortController();
    try {
      if (follow.revision < 0) throw new JobNotFoundError(jobId);
      const signal = untilSignal(stopWaiting.signal).then((name) => ({ signal: name }));
      const r = await Promise.race([outcome, signal]);
      if ('error' in r) throw r.error;
      if ('signal' in r) {
        io.err(`jobtrail history: ${r.signal ?? 'stopped'}: stopped following ${jobId} (status ${state.status})`);
        return 130;
      }
      return 0;
    } finally {
      stopWaiting.abort();
      await follow.stop();
    }
  };

  program
    .command('dashboard')
    .description(
      "serve the web dashboard (overview, jobs by status, each job's replayed history, retry and cancel) until SIGINT or SIGTERM",
    )
    .addOption(storeOption())
    .addOption(brokerOption())
    .option('--host <address>', 'the address to bind; any but loopback requires a token', '127.0.0.1')
    .option('--port <n>', 'the TCP port (0 picks a free one)', parsePort, 7070)
    .option('--token <secret>', 'require this token (at least 16 characters) for every page and action [env JOBTRAIL_DASHBOARD_TOKEN]')
    .action(async (opts: Common & { host: string; port: number; token?: string }) => {
      const token = opts.token ?? config.JOBTRAIL_DASHBOARD_TOKEN;
      try {
        checkBinding(opts.host, token);
      } catch (error) {
        if (error instanceof DashboardConfigError) throw new UserError(error.message, 2);
        throw error;
      }
      await withEngine(
        opts,
        async (engine) => {
          const dashboard = await startDashboard({
            engine,
            host: opts.host,
            port: opts.port,
            ...(token !== undefined ? { token } : {}),
            logger: logger('warn'),
          });
          try {
            io.out(`jobtrail dashboard: ${dashboard.url} (store ${engine.adapters.store}, broker ${engine.adapters.broker}); Ctrl-C stops`);
            if (token !== undefined)
              io.out(
                `the dashboard requires its token: sign in once at ${dashboard.url}?token=<token>, or send "Authorization: Bearer <token>"`,
              );
            const signal = await untilSignal();
            io.err(`jobtrail dashboard: ${signal}: stopping`);
          } finally {
            await dashboard.stop();
          }
        },
        { recover: false },
      );
    });

  for (const [name, description] of [
    ['retry', 'reset an errored, completed or cancelled job to initial (ResetToInitialState) and dispatch it'],
    ['cancel', 'cancel an initial or errored job'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument('<jobId>')
      .addOption(storeOption())
      .addOption(brokerOption())
      .option('--by <name>', 'who did it, for the record', process.env.USER ?? 'cli')
      .option('--reason <text>', 'why (cancel)')
      .option('--json', 'print the new view as JSON')
      .action(async (jobId: string, opts: Common & { by: string; reason?: string; json?: boolean }) => {
        await withEngine(
          opts,
          async (engine) => {
            const view =
              name === 'retry'
                ? await engine.retry(jobId, { by: opts.by })
                : await engine.cancel(jobId, { by: opts.by, ...(opts.reason !== undefined ? { reason: opts.reason } : {}) });
            io.out(opts.json ? JSON.stringify(view) : `${jobId}: ${view.status}`);
          },
          { recover: false },
        );
      });
  }

  program
    .command('projections')
    .description('manage the read-side projections')
    .command('install')
    .description("create jobtrail's projections (job-view, job-dashboard) in EventStoreDB, or update them when they exist")
    .addOption(storeOption())
    .option('--reset', 'fold every event again with the new code after an update')
    .action(async (opts: Common & { reset?: boolean }) => {
      const url = opts.store ?? config.JOBTRAIL_STORE ?? defaultStoreUrl;
      if (!/^esdb(\+discover)?:\/\//.test(url)) {
        io.out(`the store ${redactUrl(url)} is embedded: its projections run in-process from projections/*.js; nothing to install`);
        return;
      }
      const [{ EventStoreDBClient }, { installProjections }] = await Promise.all([
        import('@eventstore/db-client'),
        import('../projections/esdb.js'),
      ]);
      const client = EventStoreDBClient.connectionString(url);
      try {
        for (const p of await installProjections(client, projectionsDir, { ...(opts.reset ? { reset: true } : {}) }))
          io.out(`${p.action} ${p.name} (emitEnabled: ${p.emitEnabled}${p.reset ? ', reset' : ''})`);
      } finally {
        await client.dispose();
      }
    });

  try {
    await program.parseAsync(['node', 'jobtrail', ...argv]);
  } catch (error) {
    exitCode = reportError(error, io);
  }
  return exitCode;
};

/**
 * The errors a user can act on from their message alone, by code: printed
 * in one line, without a stack. Any other error is a defect and keeps its
 * stack. An invalid setting is a usage error (exit 2).
 */
const userFacing: ReadonlyMap<ErrorCode, number> = new Map<ErrorCode, number>([
  [ErrorCodes.InvalidConfig, 2],
  [ErrorCodes.InvalidWorker, 1],
  [ErrorCodes.EnqueueRejected, 1],
  [ErrorCodes.EnqueuePartlyFailed, 1],
  [ErrorCodes.JobNotFound, 1],
  [ErrorCodes.TransitionRejected, 1],
  [ErrorCodes.StoreUnavailable, 1],
  [ErrorCodes.BrokerUnavailable, 1],
  [ErrorCodes.CommandRejected, 1],
  [ErrorCodes.ProducerFailed, 1],
  [ErrorCodes.Timeout, 1],
]);

const reportError = (error: unknown, io: Io): number => {
  const e = error as { code?: string; exitCode?: number };
  if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
    return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? 0 : (e.exitCode ?? 2);
  }
  if (error instanceof UserError) {
    io.err(`jobtrail: ${error.message}`);
    return error.exitCode;
  }
  const exitCode = isJobtrailError(error) ? userFacing.get(error.code) : undefined;
  if (exitCode !== undefined) {
    io.err(`jobtrail: ${(error as Error).message}`);
    return exitCode;
  }
  io.err(`jobtrail: ${(error as Error)?.stack ?? String(error)}`);
  return 1;
};
