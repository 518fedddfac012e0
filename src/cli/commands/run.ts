import type { Command } from 'commander';
import { brokerOption, parseMilliseconds, storeOption, workersOption, type Common, type Context } from '../context.js';
import { UserError } from '../errors.js';
import { describeDurability } from '../durability.js';
import { parseRetentionFlag, type RetentionOption } from '../../conductor/index.js';
import { DurationError } from '../../config/index.js';
import { InvalidArgumentError } from 'commander';
import { parseMetricsPort, startMetrics } from './metricsFlags.js';

const retentionFlag = (text: string): RetentionOption => {
  try {
    return parseRetentionFlag(text);
  } catch (error) {
    if (error instanceof TypeError || error instanceof DurationError) throw new InvalidArgumentError(error.message);
    throw error;
  }
};

/** The options of `jobtrail run`; the sweep's and heartbeat's in milliseconds. */
type RunOptions = Common & {
  recover?: boolean;
  acceptCommands?: boolean;
  sweepInterval?: number;
  sweepGrace?: number;
  heartbeatInterval?: number;
  retention?: RetentionOption;
  metricsPort?: number;
  metricsHost?: string;
};

/** `jobtrail run`: consume the workers' queues until a signal; a second signal forces exit through `io.exit`. */
export const register = (program: Command, { io, workersModule, withEngine }: Context): void => {
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
    .option(
      '--sweep-interval <ms>',
      'how often this process sweeps for stranded jobs (attempts of gone processes, overdue jobs); 0: never [jobtrail.config.json "sweepIntervalMs"; default 15000]',
      parseMilliseconds('--sweep-interval'),
    )
    .option(
      '--sweep-grace <ms>',
      'how long past its due time a job waits before the sweep dispatches it again [jobtrail.config.json "sweepGraceMs"; default 60000]',
      parseMilliseconds('--sweep-grace'),
    )
    .option(
      '--heartbeat-interval <ms>',
      'how often this process records its heartbeat while it runs jobs; 0: never [jobtrail.config.json "heartbeatIntervalMs"; default 5000]',
      parseMilliseconds('--heartbeat-interval'),
    )
    .option(
      '--retention <ages>',
      'how long final jobs are kept before this process purges them (docs/retention.md): completed=1d,errored=7d,cancelled=7d (any of them), one age for all (12h), or forever [jobtrail.config.json "retention"; default: completed 1d, errored and cancelled 7d]',
      retentionFlag,
    )
    .option(
      '--metrics-port <n>',
      'serve Prometheus metrics at http://<metrics-host>:<n>/metrics (0 picks a free port; docs/metrics.md)',
      parseMetricsPort,
    )
    .option('--metrics-host <address>', 'the address the metrics are served on [default: 127.0.0.1]')
    .action(async (opts: RunOptions) => {
      if (!workersModule(opts))
        throw new UserError('jobtrail run needs --workers <module> (or JOBTRAIL_WORKERS, or "workers" in jobtrail.config.json)', 2);
      // Issue 23: the metrics endpoint is bound before the engine starts, so a port in use fails before any job is taken.
      const metrics = await startMetrics(opts, io);
      await withEngine(
        opts,
        async (engine) => {
          // The handlers go in before start(): start() begins consuming (recovery dispatches at once), so a job
          // may run before it resolves, and a SIGTERM then must stop with the grace period, not kill the process.
          let starting: Promise<unknown> = Promise.resolve();
          const stopped = new Promise<void>((resolve) => {
            let signals = 0;
            const onSignal = (signal: NodeJS.Signals) => {
              signals++;
              if (signals > 1) {
                io.err(`jobtrail run: ${signal} again: forcing exit`);
                io.exit?.(130);
                return;
              }
              io.err(`jobtrail run: ${signal}: stopping (running jobs get the grace period)`);
              void starting
                .then(
                  () => engine.stop(),
                  () => undefined,
                )
                .then(resolve, resolve);
            };
            process.on('SIGTERM', onSignal);
            process.on('SIGINT', onSignal);
          });
          const start = engine.start();
          starting = start;
          const report = await start;
          io.err(
            `jobtrail run: ${engine.registry.names.join(', ')} on ${engine.adapters.broker}, store ${engine.adapters.store}${engine.adapters.synchronous !== undefined ? ` ${describeDurability(engine.adapters.synchronous)}` : ''}; SIGTERM or Ctrl-C stops`,
          );
          if (report)
            io.err(
              `jobtrail run: recovered: ${report.dispatched} dispatched, ${report.lost} attempts of gone processes recorded as WorkerLost, ${report.skipped} left as they were`,
            );
          await stopped;
        },
        {
          logLevel: 'info',
          ...(opts.recover !== undefined ? { recover: opts.recover } : {}),
          // Commander sets it to true unless --no-accept-commands is given: only "no" is the user's choice.
          ...(opts.acceptCommands === false ? { acceptCommands: false } : {}),
          ...(opts.sweepInterval !== undefined ? { sweepIntervalMs: opts.sweepInterval } : {}),
          ...(opts.sweepGrace !== undefined ? { sweepGraceMs: opts.sweepGrace } : {}),
          ...(opts.heartbeatInterval !== undefined ? { heartbeatIntervalMs: opts.heartbeatInterval } : {}),
          ...(opts.retention !== undefined ? { retention: opts.retention } : {}),
          ...(metrics !== undefined ? { metrics: { registry: metrics.registry } } : {}),
        },
      ).finally(() => metrics?.server.stop());
    });
};
