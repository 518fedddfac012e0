import { CommanderError } from 'commander';
import { ErrorCodes, isJobtrailError, type ErrorCode } from '../errors/index.js';
import type { Io } from './context.js';
import { explainConnectionError, type Connecting } from './lib/explainError.js';

/** A failure the user can fix: printed without a stack, exit code 1 (2 for usage). */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/**
 * The errors a user can act on from their message alone, by code: printed
 * in one line, without a stack. Any other error is a defect and keeps its
 * stack. An invalid setting is a usage error (exit 2).
 */
const userFacing: ReadonlyMap<ErrorCode, number> = new Map<ErrorCode, number>([
  [ErrorCodes.InvalidConfig, 2],
  [ErrorCodes.InvalidWorker, 1],
  [ErrorCodes.EnqueueRejected, 1],
  [ErrorCodes.EnqueuePartlyFailed, 1],
  [ErrorCodes.JobNotFound, 1],
  [ErrorCodes.TransitionRejected, 1],
  [ErrorCodes.StoreUnavailable, 1],
  [ErrorCodes.StoreAccessDenied, 1],
  [ErrorCodes.StoreUnsupported, 1],
  [ErrorCodes.ProjectionNotInstalled, 1],
  [ErrorCodes.BrokerUnavailable, 1],
  [ErrorCodes.BrokerMismatch, 1],
  [ErrorCodes.QueueDeclaration, 1],
  [ErrorCodes.CommandRejected, 1],
  [ErrorCodes.ProducerFailed, 1],
  [ErrorCodes.Timeout, 1],
  [ErrorCodes.InvalidSchedule, 2],
  [ErrorCodes.ScheduleNotFound, 1],
  [ErrorCodes.InvalidQueue, 2],
  [ErrorCodes.InvalidCursor, 2],
]);

/** How `reportError` reports: `verbose` (`--verbose`) adds the stack to every error; `connecting` names the store and broker in use. */
export interface ReportOptions {
  readonly verbose?: boolean;
  readonly connecting?: Connecting;
}

/** Prints what went wrong (commander has printed its own errors already) and returns the exit code. */
export const reportError = (error: unknown, io: Io, options: ReportOptions = {}): number => {
  if (error instanceof CommanderError)
    // Commander exits 1 when it shows the help because no command was given; jobtrail has always exited 0 there.
    return error.code === 'commander.help' ? 0 : error.exitCode;
  const stack = (): void => {
    if (options.verbose === true && error instanceof Error && error.stack !== undefined) io.err(error.stack);
  };
  if (error instanceof UserError) {
    io.err(`jobtrail: ${error.message}`);
    stack();
    return error.exitCode;
  }
  // Issue 23: a connection failure (RabbitMQ, EventStoreDB, an SQLite file) in one line, with the fix.
  const explained = explainConnectionError(error, options.connecting);
  if (explained !== undefined) {
    io.err(`jobtrail: ${explained}${options.verbose === true ? '' : ' (--verbose prints the stack)'}`);
    stack();
    return 1;
  }
  const exitCode = isJobtrailError(error) ? userFacing.get(error.code) : undefined;
  if (exitCode !== undefined) {
    io.err(`jobtrail: ${(error as Error).message}`);
    stack();
    return exitCode;
  }
  io.err(`jobtrail: ${(error as Error)?.stack ?? String(error)}`);
  return 1;
};
