import type { Command } from 'commander';
import { brokerOption, storeOption, type Common, type Context } from '../context.js';
import { hasFilter, printReport, selectionOf, selectionOptions, type SelectionFlags } from './bulkFlags.js';

/** `jobtrail cancel <jobId…> | --status …`: cancel jobs. */
export const register = (program: Command, ctx: Context): void => {
  const { io, withEngine } = ctx;
  selectionOptions(
    program
      .command('cancel')
      .description('cancel jobs: one job id, several, or a filter; one line per job and a summary, exit 1 if any was refused')
      .argument('[jobIds...]')
      .addOption(storeOption())
      .addOption(brokerOption()),
  )
    .option('--by <name>', 'who did it, for the record', io.env.USER ?? 'cli')
    .option('--reason <text>', 'why, for the record')
    .option('--json', 'print the new view (one job id) or the report as JSON')
    .action(async (jobIds: string[], opts: Common & SelectionFlags & { by: string; reason?: string; json?: boolean }) => {
      await withEngine(
        opts,
        async (engine) => {
          const actionOptions = { by: opts.by, ...(opts.reason !== undefined ? { reason: opts.reason } : {}) };
          if (jobIds.length === 1 && !hasFilter(opts)) {
            const jobId = jobIds[0] as string;
            const view = await engine.cancel(jobId, actionOptions);
            // A running job: the request is recorded, and the process running it aborts the action.
            const request = view.status === 'in_progress' ? view.cancelRequested : undefined;
            io.out(
              opts.json
                ? JSON.stringify(view)
                : request !== undefined
                  ? `${jobId}: cancel requested (attempt ${request.attempt} running on ${view.workerId ?? 'an unknown process'})`
                  : `${jobId}: ${view.status}`,
            );
            return;
          }
          const report = await engine.cancelMany(selectionOf('cancel', jobIds, opts), actionOptions);
          ctx.exitCode = printReport(io, report, opts.json);
        },
        { recover: false, readOnly: true },
      );
    });
};
