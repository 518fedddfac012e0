import type { Command } from 'commander';
import { runDashboard } from '../../dashboard/index.js';
import { demoWorkers, runDemo } from '../../demo/index.js';
import { redactUrl } from '../../log/index.js';
import type { Worker } from '../../worker/index.js';
import { parsePort, parsePositiveInt, storeOption, untilSignal, type Common, type Context } from '../context.js';

/** `jobtrail demo`: the example jobs on the embedded store and the in-process broker, optionally with the dashboard. */
export const register = (program: Command, { io, config, logger, storeUrl, withEngine }: Context): void => {
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
      io.out(`jobtrail demo: store ${redactUrl(storeUrl(opts))}, in-process broker`);
      await withEngine(
        { ...opts, broker: 'memory' },
        async (engine) => {
          const recovered = await engine.start();
          if (recovered && recovered.dispatched + recovered.lost > 0)
            io.out(`recovered ${recovered.dispatched} waiting and ${recovered.lost} interrupted jobs from an earlier run`);
          const token = config.JOBTRAIL_DASHBOARD_TOKEN;
          const dashboard = opts.dashboard
            ? await runDashboard({ engine, port: opts.port, ...(token !== undefined ? { token } : {}), logger: logger('warn') })
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
};
