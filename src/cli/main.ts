import { Command } from 'commander';
import { readEnvConfig } from '../config/index.js';
import { engineVersion } from '../engine.js';
import * as cancel from './commands/cancel.js';
import * as dashboard from './commands/dashboard.js';
import * as demo from './commands/demo.js';
import * as broker from './commands/broker.js';
import * as doctor from './commands/doctor.js';
import * as enqueue from './commands/enqueue.js';
import * as history from './commands/history.js';
import * as list from './commands/list.js';
import * as projections from './commands/projections.js';
import * as purge from './commands/purge.js';
import * as retry from './commands/retry.js';
import * as run from './commands/run.js';
import * as schedule from './commands/schedule.js';
import * as queue from './commands/queue.js';
import * as show from './commands/show.js';
import * as processes from './commands/processes.js';
import { makeContext, type Io } from './context.js';
import { reportError } from './errors.js';

export type { Io } from './context.js';

/** The commands, in the order `--help` lists them. */
const commands = [demo, run, enqueue, show, list, history, dashboard, retry, cancel, purge, schedule, queue, broker, projections, doctor];
commands.push(processes); // issue 23: the Processes list (docs/processes.md)

/** Runs the `jobtrail` command line; returns the exit code. The only place that reads argv. */
export const runCli = async (argv: readonly string[], io: Io): Promise<number> => {
  // Issue 23: --verbose (anywhere on the line) adds the stack to any error; read here, since an error may come before parsing ends.
  const verbose = argv.includes('--verbose');
  let connecting = {};
  try {
    const ctx = makeContext(io, readEnvConfig(io.env));
    connecting = ctx.connecting;
    const program = new Command('jobtrail')
      .description('An event-sourced background job engine: every job is an event stream.')
      .version(engineVersion, '-V, --version', 'print the version')
      .exitOverride()
      .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) })
      .showHelpAfterError('(add --help for usage)')
      // Issue 22: the project config file, loaded before any command's action (not for --help or --version).
      .option(
        '--config <path>',
        'the project config file [env JOBTRAIL_CONFIG; default: jobtrail.config.json (or .ts, .mjs, .js) found from this directory up]',
      )
      .option('--verbose', 'print the stack trace of an error too')
      .hook('preAction', () => ctx.loadProject(program.opts<{ config?: string }>().config));
    for (const command of commands) command.register(program, ctx);
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (error) {
    return reportError(error, io, { verbose, connecting });
  }
};
