import type { Command } from 'commander';
import { brokerOption, storeOption, type Common, type Context } from '../context.js';

/** `jobtrail cancel <jobId>`: cancel a job that is not running. */
export const register = (program: Command, { io, withEngine }: Context): void => {
  program
    .command('cancel')
    .description('cancel an initial or errored job')
    .argument('<jobId>')
    .addOption(storeOption())
    .addOption(brokerOption())
    .option('--by <name>', 'who did it, for the record', io.env.USER ?? 'cli')
    .option('--reason <text>', 'why, for the record')
    .option('--json', 'print the new view as JSON')
    .action(async (jobId: string, opts: Common & { by: string; reason?: string; json?: boolean }) => {
      await withEngine(
        opts,
        async (engine) => {
          const view = await engine.cancel(jobId, { by: opts.by, ...(opts.reason !== undefined ? { reason: opts.reason } : {}) });
          io.out(opts.json ? JSON.stringify(view) : `${jobId}: ${view.status}`);
        },
        { recover: false, readOnly: true },
      );
    });
};
