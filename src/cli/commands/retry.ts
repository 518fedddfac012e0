import type { Command } from 'commander';
import { brokerOption, storeOption, type Common, type Context } from '../context.js';
import { hasFilter, printReport, selectionOf, selectionOptions, type SelectionFlags } from './bulkFlags.js';

/** `jobtrail retry <jobId…> | --status …`: reset jobs to initial and dispatch them. */
export const register = (program: Command, ctx: Context): void => {
  const { io, withEngine } = ctx;
  selectionOptions(
    program
      .command('retry')
      .description(
        'reset errored, completed or cancelled jobs to initial (ResetToInitialState) and dispatch them: one job id, several, or a filter; one line per job and a summary, exit 1 if any was refused',
      )
      .argument('[jobIds...]')
      .addOption(storeOption())
      .addOption(brokerOption()),
  )
    .option('--by <name>', 'who did it, for the record', io.env.USER ?? 'cli')
    .option('--json', 'print the new view (one job id) or the report as JSON')
    .action(async (jobIds: string[], opts: Common & SelectionFlags & { by: string; json?: boolean }) => {
      await withEngine(
        opts,
        async (engine) => {
          if (jobIds.length === 1 && !hasFilter(opts)) {
            const jobId = jobIds[0] as string;
            const view = await engine.retry(jobId, { by: opts.by });
            io.out(opts.json ? JSON.stringify(view) : `${jobId}: ${view.status}`);
            return;
          }
          const report = await engine.retryMany(selectionOf('retry', jobIds, opts), { by: opts.by });
          ctx.exitCode = printReport(io, report, opts.json);
        },
        { recover: false, readOnly: true },
      );
    });
};
