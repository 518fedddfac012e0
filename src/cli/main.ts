import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, readEnvConfig, type EnvConfig } from '../config/index.js';
import { createEngine, defaultBrokerUrl, defaultStoreUrl, JobNotFoundError, TransitionRejectedError, type Engine } from '../engine.js';
import { EnqueueRejectedError } from '../conductor/index.js';
import { JobStatuses, type JobStatus } from '../job/index.js';
import { demoWorkers, runDemo } from '../demo/index.js';
import { InvalidWorkerError, loadWorkers, type Worker } from '../worker/index.js';
import { makeLogger, redactUrl, type Logger } from '../log/index.js';
import { formatHistory, formatJobTable, formatView } from './format.js';
import { EventStoreDBClient } from '@eventstore/db-client';
import { installProjections, projectionsDir } from '../projections/index.js';

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

const parseJson = (what: string) => (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidArgumentError(`${what} is not valid JSON (${(error as Error).message}): ${text.slice(0, 200)}`);
  }
};

const parsePositiveInt = (what: string) => (text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a whole number ≥ 1, got ${JSON.stringify(text)}`);
  return n;
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
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) })
    .showHelpAfterError('(add --help for usage)');

  const storeOption = () => new Option('--store <url>', `event store URL (sqlite:<path>, sqlite::memory:, esdb://…) [env JOBTRAIL_STORE; default ${defaultStoreUrl}]`);
  const brokerOption = () => new Option('--broker <url>', `broker URL (memory, amqp://…) [env JOBTRAIL_BROKER; default ${defaultBrokerUrl}]`);
  const workersOption = () => new Option('--workers <module>', 'module whose exports are workers (defineWorker or Worker subclasses) [env JOBTRAIL_WORKERS]');

  const logger = (fallback: string): Logger => makeLogger({ level: config.JOBTRAIL_LOG_LEVEL ?? fallback });

  const withEngine = async <T>(
    opts: Common,
    f: (engine: Engine) => Promise<T>,
    extra: { workers?: readonly Worker<unknown>[]; logLevel?: string; recover?: boolean } = {},
  ): Promise<T> => {
    const workers = extra.workers ?? (opts.workers ?? config.JOBTRAIL_WORKERS ? await loadWorkers((opts.workers ?? config.JOBTRAIL_WORKERS)!) : []);
    const engine = await createEngine({
      store: opts.store ?? config.JOBTRAIL_STORE ?? defaultStoreUrl,
      broker: opts.broker ?? config.JOBTRAIL_BROKER ?? defaultBrokerUrl,
      workers,
      logger: logger(extra.logLevel ?? 'warn'),
      ...(config.JOBTRAIL_GRACE_MS !== undefined ? { gracePeriodMs: config.JOBTRAIL_GRACE_MS } : {}),
      ...(extra.recover !== undefined ? { recover: extra.recover } : {}),
    });
    try {
      return await f(engine);
    } finally {
      await engine.close({ gracePeriodMs: 0 });
    }
  };

  program
    .command('demo')
    .description('run the main job on the embedded default: some hundreds of example jobs, retries included, then a summary and a replayed history')
    .addOption(storeOption())
    .option('--emails <n>', 'email jobs to enqueue', parsePositiveInt('--emails'), 300)
    .option('--imports <n>', 'CSV import jobs to enqueue', parsePositiveInt('--imports'), 4)
    .option('--timeout <ms>', 'give up after this many milliseconds', parsePositiveInt('--timeout'), 120_000)
    .action(async (opts: Common & { emails: number; imports: number; timeout: number }) => {
      io.out(`jobtrail demo: store ${redactUrl(opts.store ?? config.JOBTRAIL_STORE ?? defaultStoreUrl)}, in-process broker`);
      await withEngine(
        { ...opts, broker: 'memory' },
        async (engine) => {
          const recovered = await engine.start();
          if (recovered && recovered.dispatched + recovered.lost > 0)
            io.out(`recovered ${recovered.dispatched} waiting and ${recovered.lost} interrupted jobs from an earlier run`);
          await runDemo(engine, {
            emails: opts.emails,
            imports: opts.imports,
            timeoutMs: opts.timeout,
            out: io.out,
            ...(recovered ? { recovered: recovered.jobIds } : {}),
          });
          io.out('');
          io.out('look closer: jobtrail list --status errored · jobtrail show <jobId> · jobtrail history <jobId>');
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
    .action(async (opts: Common) => {
      if (!(opts.workers ?? config.JOBTRAIL_WORKERS)) throw new UserError('jobtrail run needs --workers <module> (or JOBTRAIL_WORKERS)', 2);
      await withEngine(
        opts,
        async (engine) => {
          await engine.start();
          io.err(`jobtrail run: ${engine.registry.names.join(', ')} on ${engine.broker.kind}, store ${engine.store.kind}; SIGTERM or Ctrl-C stops`);
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
        { logLevel: 'info' },
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
    .action(async (workerName: string, payload: unknown, opts: Common & { jobId?: string; queue?: string; maxAttempts?: number; runAt?: string; by?: string; json?: boolean }) => {
      if (!(opts.workers ?? config.JOBTRAIL_WORKERS))
        throw new UserError('jobtrail enqueue needs --workers <module> (or JOBTRAIL_WORKERS) to check the worker name and payload', 2);
      await withEngine(opts, async (engine) => {
        const r = await engine.enqueue(workerName, payload, {
          ...(opts.jobId !== undefined ? { jobId: opts.jobId } : {}),
          ...(opts.queue !== undefined ? { queue: opts.queue } : {}),
          ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
          ...(opts.runAt !== undefined ? { runAt: opts.runAt } : {}),
          enqueuedBy: opts.by ?? 'cli',
        });
        io.out(opts.json ? JSON.stringify({ ok: true, jobId: r.jobId, created: r.created }) : `${r.created ? 'enqueued' : 'exists already'}: ${r.jobId}`);
      }, { recover: false });
    });

  program
    .command('show')
    .description("a job's current state")
    .argument('<jobId>')
    .addOption(storeOption())
    .option('--json', 'print the view as JSON')
    .action(async (jobId: string, opts: Common & { json?: boolean }) => {
      await withEngine({ ...opts, broker: 'memory' }, async (engine) => {
        const view = await engine.getJob(jobId);
        if (!view) throw new JobNotFoundError(jobId);
        io.out(opts.json ? JSON.stringify(view, null, 2) : formatView(view));
      }, { recover: false });
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
      await withEngine({ ...opts, broker: 'memory' }, async (engine) => {
        const jobs = await engine.listJobs({
          limit: opts.limit,
          ...(opts.status ? { status: opts.status } : {}),
          ...(opts.worker ? { workerName: opts.worker } : {}),
        });
        io.out(opts.json ? jobs.map((j) => JSON.stringify(j)).join('\n') : formatJobTable(jobs));
      }, { recover: false });
    });

  program
    .command('history')
    .description("replay a job's history: every event, its revision, time, time since the previous one, attempt, and errors with stacks")
    .argument('<jobId>')
    .addOption(storeOption())
    .option('--json', 'print the events as JSON lines')
    .action(async (jobId: string, opts: Common & { json?: boolean }) => {
      await withEngine({ ...opts, broker: 'memory' }, async (engine) => {
        const events = await engine.history(jobId);
        if (events.length === 0) throw new JobNotFoundError(jobId);
        io.out(
          opts.json
            ? events.map((e) => JSON.stringify({ revision: e.revision, position: e.position, id: e.id, created: e.created, type: e.event.type, data: e.event.data, metadata: e.metadata })).join('\n')
            : formatHistory(events),
        );
      }, { recover: false });
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
        await withEngine(opts, async (engine) => {
          const view =
            name === 'retry'
              ? await engine.retry(jobId, { by: opts.by })
              : await engine.cancel(jobId, { by: opts.by, ...(opts.reason !== undefined ? { reason: opts.reason } : {}) });
          io.out(opts.json ? JSON.stringify(view) : `${jobId}: ${view.status}`);
        }, { recover: false });
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

const reportError = (error: unknown, io: Io): number => {
  const e = error as { code?: string; exitCode?: number };
  if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
    return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? 0 : (e.exitCode ?? 2);
  }
  if (error instanceof UserError) {
    io.err(`jobtrail: ${error.message}`);
    return error.exitCode;
  }
  if (
    error instanceof EnqueueRejectedError ||
    error instanceof TransitionRejectedError ||
    error instanceof JobNotFoundError ||
    error instanceof InvalidWorkerError ||
    error instanceof ConfigError
  ) {
    io.err(`jobtrail: ${error.message}`);
    return 1;
  }
  io.err(`jobtrail: ${(error as Error)?.stack ?? String(error)}`);
  return 1;
};
