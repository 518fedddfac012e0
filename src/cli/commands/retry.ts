import type { Command } from 'commander';
import { brokerOption, storeOption, type Common, type Context } from '../context.js';

/** `jobtrail retry <jobId>`: reset a job to initial and dispatch it. */
export const register = (program: Command, { io, withEngine }: Context): void => {
  program
    .command('retry')
    .description('reset an errored, completed or cancelled job to initial (ResetToInitialState) and dispatch it')
    .argument('<jobId>')
    .addOption(storeOption())
    .addOption(brokerOption())
    .option('--by <name>', 'who did it, for the record', io.env.USER ?? 'cli')
    .option('--json', 'print the new view as JSON')
    .action(async (jobId: string, opts: Common & { by: string; json?: boolean }) => {
      await withEngine(
        opts,
        async (engine) => {
          const view = await engine.retry(jobId, { by: opts.by });
          io.out(opts.json ? JSON.stringify(view) : `${jobId}: ${view.status}`);
        },
        { recover: false, readOnly: true },
      );
    });
};
