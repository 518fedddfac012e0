import type { Command } from 'commander';
import { goneProcessesOf, JobNotFoundError } from '../../conductor/index.js';
import { displayStatus, formatView, traceRow } from '../../present/index.js';
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
          // A traced job's trace id (docs/tracing.md), from its JobEnqueued's metadata.
          const trace = opts.json ? undefined : traceRow(await engine.history(jobId));
          // "timed out, still running": not when the process running the action is gone (docs/running.md).
          io.out(
            opts.json
              ? JSON.stringify({ ...view, displayStatus: displayStatus(view) }, null, 2)
              : formatView(view, await goneProcessesOf(view, (id) => engine.processGone(id))) + (trace !== undefined ? `\n${trace}` : ''),
          );
        },
        { recover: false, readOnly: true },
      );
    });
};
