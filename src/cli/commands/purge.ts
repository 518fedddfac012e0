import type { Command } from 'commander';
import { brokerOption, storeOption, type Common, type Context } from '../context.js';
import { printReport, selectionOf, selectionOptions, type SelectionFlags } from './bulkFlags.js';

/** `jobtrail purge <jobId…> | --status completed --older-than 7d`: delete final jobs for good (docs/retention.md). */
export const register = (program: Command, ctx: Context): void => {
  const { io, withEngine } = ctx;
  selectionOptions(
    program
      .command('purge')
      .description(
        'delete final jobs (completed, cancelled, failed for good) and their history: job ids or a filter; recorded as JobsPurged in purges-<day> with --by and --reason; one line per job and a summary, exit 1 if any was refused',
      )
      .argument('[jobIds...]')
      .addOption(storeOption())
      .addOption(brokerOption()),
    ['completed', 'failed', 'cancelled', 'errored'],
  )
    .option('--dry-run', 'say what would be purged; change nothing')
    .option('--by <name>', 'who did it, for the record', io.env.USER ?? 'cli')
    .option('--reason <text>', 'why, for the record')
    .option('--json', 'print the report as JSON')
    .action(async (jobIds: string[], opts: Common & SelectionFlags & { by: string; reason?: string; dryRun?: boolean; json?: boolean }) => {
      const selection = selectionOf('purge', jobIds, opts);
      await withEngine(
        opts,
        async (engine) => {
          const report = await engine.purge(selection, {
            by: opts.by,
            ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
            ...(opts.dryRun ? { dryRun: true } : {}),
          });
          ctx.exitCode = printReport(io, report, opts.json);
        },
        { recover: false, readOnly: true },
      );
    });
};
