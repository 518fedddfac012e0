import type { ErrorInfo } from '../job/index.js';
import { brandClass, ErrorCodes, JobtrailError } from '../errors/index.js';

/**
 * Throw this (or a subclass) from an action to fail the job for good: no
 * further attempt is scheduled, whatever attempts remain.
 */
export class NonRetryableError extends JobtrailError {
  static {
    brandClass(this, 'NonRetryableError');
  }
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.NonRetryable, message, options);
    this.name = 'NonRetryableError';
  }
}

/** The error names the engine itself records in `JobErrored`. */
export const EngineErrors = {
  /** The job's `workerName` is not registered in the process that received it. No retry. */
  UnknownWorker: 'UnknownWorker',
  /** The payload failed the worker's codec. No retry. */
  InvalidPayload: 'InvalidPayload',
  /** The process running the attempt died or lost its delivery; recorded by whoever got the redelivery. Retried. */
  WorkerLost: 'WorkerLost',
  /** The action ran past the worker's `timeoutMs`. Retried. */
  Timeout: 'Timeout',
  /** The process shut down and aborted the action after its grace period. Retried. */
  Interrupted: 'Interrupted',
  /** The action's result is larger than the store takes in one event (1 MiB). No retry. */
  ResultTooLarge: 'ResultTooLarge',
} as const;

const stringify = (value: unknown): string => {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
};

/** How much of an error's message and stack is recorded: enough to debug, never near the store's 1 MiB per event. */
const maxErrorText = 64 * 1024;
const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max)}…(${text.length} characters)`);

/**
 * Whatever an action threw, as `{name, message, stack}`: an `Error` keeps its
 * own; a string, an object or `undefined` becomes a readable message.
 */
export const normaliseError = (thrown: unknown): ErrorInfo => {
  if (thrown instanceof Error) {
    const name = cut(typeof thrown.name === 'string' && thrown.name !== '' ? thrown.name : 'Error', 200);
    const message = cut(typeof thrown.message === 'string' ? thrown.message : stringify(thrown.message), maxErrorText);
    return typeof thrown.stack === 'string' ? { name, message, stack: cut(thrown.stack, maxErrorText) } : { name, message };
  }
  const kind = thrown === null ? 'null' : typeof thrown;
  return { name: 'NonErrorThrown', message: `the action threw a ${kind} instead of an Error: ${stringify(thrown).slice(0, 2000)}` };
};

/** A user-supplied value quoted for an error message, cut after `max` characters (default 200) so a huge input makes no huge message. */
export const quote = (value: unknown, max = 200): string => {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length <= max ? text : `${text.slice(0, max)}…(${text.length} characters)`;
};
