import type { Command } from 'commander';
import { checkBinding, runDashboard } from '../../dashboard/index.js';
import { makeProcessRegistry } from '../../metrics/index.js';
import { brokerOption, parsePort, storeOption, untilSignal, type Common, type Context } from '../context.js';

/**
 * `jobtrail dashboard`: serve the web dashboard until a signal. Its refusals
 * (a non-loopback host without a token, a short token, a port in use) are
 * `InvalidConfig` errors, which `reportError` prints as usage errors (exit 2).
 */
export const register = (program: Command, { io, config, logger, withEngine }: Context): void => {
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
      // Refuse a bad binding before opening the store and the broker.
      checkBinding(opts.host, token);
      await withEngine(
        opts,
        async (engine) => {
          const dashboard = await runDashboard({
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
        // Its retry and cancel dispatch: refuse a broker of another kind than the store's before serving.
        // Issue 23: /metrics serves the process's registry, with the store-wide job counts (docs/metrics.md).
        { recover: false, readOnly: true, checkBroker: 'dashboard', metrics: { registry: makeProcessRegistry(), jobCounts: true } },
      );
    });
};
