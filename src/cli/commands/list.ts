import { Option, type Command } from 'commander';
import { JobStatuses, type JobStatus } from '../../job/index.js';
import { formatJobTable } from '../../present/index.js';
import { parsePositiveInt, storeOption, type Common, type Context } from '../context.js';

/** `jobtrail list`: jobs, newest first, by status and worker. */
export const register = (program: Command, { io, storeLabel, withEngine }: Context): void => {
  program
    .command('list')
    .description('jobs, newest first')
    .addOption(storeOption())
    .addOption(new Option('--status <status>', 'only jobs in this status').choices(Object.values(JobStatuses)))
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
          // Which store this is, on stderr (stdout stays the list): "(no jobs)" from the wrong store reads otherwise like an empty one.
          io.err(`jobtrail list: store ${storeLabel(opts)}`);
          io.out(opts.json ? jobs.map((j) => JSON.stringify(j)).join('\n') : formatJobTable(jobs));
        },
        { recover: false, readOnly: true },
      );
    });
};
