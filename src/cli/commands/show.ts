import type { Command } from 'commander';
import { goneProcessesOf, JobNotFoundError } from '../../conductor/index.js';
import { displayStatus, formatView } from '../../present/index.js';
import { storeOption, type Common, type Context } from '../context.js';

/** `jobtrail show <jobId>`: a job's current state. */
export const register = (program: Command, { io, withEngine }: Context): void => {
  program
    .command('show')
    .description("a job's current state")
    .argument('<jobId>')
    .addOption(storeOption())
    .option('--json', 'print the view as JSON')
    .action(async (jobId: string, opts: Common & { json?: boolean }) => {
      await withEngine(
        { ...opts, broker: 'memory' },
        async (engine) => {
          const view = await engine.getJob(jobId);
          if (!view) throw new JobNotFoundError(jobId);
          // "timed out, still running": not when the process running the action is gone (docs/running.md).
          io.out(
            opts.json
              ? JSON.stringify({ ...view, displayStatus: displayStatus(view) }, null, 2)
              : formatView(view, await goneProcessesOf(view, (id) => engine.processGone(id))),
          );
        },
        { recover: false, readOnly: true },
      );
    });
};
