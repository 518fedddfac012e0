import * as t from 'io-ts';
import { defaultRetryPolicy, hangfireDelayMs, queueNamePattern, queueNameRule } from '../job/index.js';
import { executeAttempt, type AttemptInput, type ExecuteDeps } from './execute.js';
import { NonRetryableError } from './failures.js';
import { rateLimitProblems, type RateLimit } from './rateLimit.js';
import { brandClass, brandMark, ErrorCodes, JobtrailError } from '../errors/index.js';
import type { Logger } from '../log/index.js';

/** What an action gets besides its payload. */
export interface JobContext {
  readonly jobId: string;
  /** 1-based. */
  readonly attempt: number;
  /**
   * Aborted when the attempt must stop: its timeout passed, the process is
   * shutting down past its grace period, or the process lost the delivery.
   * Long actions should check it and stop early.
   */
  readonly signal: AbortSignal;
  /** Records a `JobProgressed` event (percent 0–100 and/or a message). */
  progress(percent?: number, message?: string): Promise<void>;
  /**
   * The engine's logger (pino), its lines bound to this attempt: `jobId`, `attempt`, `worker`, and `traceId` and
   * `spanId` when the attempt is traced (docs/tracing.md). Silent in `runAction`.
   */
  readonly log: Logger;
}

/** A worker's settings when it does not give them. */
export const workerDefaults = { queue: 'default', maxAttempts: defaultRetryPolicy.maxAttempts, concurrency: 10 } as const;

/** Any JSON value: the default payload codec. */
export const JsonPayload = new t.Type<unknown, unknown, unknown>(
  'JsonPayload',
  (u): u is unknown => u !== undefined,
  (u, c) => {
    try {
      return JSON.stringify(u) === undefined ? t.failure(u, c, 'the payload is not a JSON value') : t.success(u);
    } catch (error) {
      return t.failure(u, c, `the payload is not a JSON value: ${(error as Error).message}`);
    }
  },
  t.identity,
);

/**
 * A recurring run declared with the worker: upserted as schedule `id` (default: the worker's name) when an engine
 * that registers the worker starts (docs/recurring.md). The fields are those of `engine.upsertSchedule`.
 */
export interface WorkerSchedule {
  /** Default: the worker's name (which must then be a valid schedule id). */
  readonly id?: string;
  readonly cron: string;
  /** Default: `{}`. */
  readonly payload?: unknown;
  /** Default: `UTC`. */
  readonly timezone?: string;
  readonly catchUp?: 'none' | 'latest' | 'all';
  readonly overlap?: 'allow' | 'skip';
  readonly queue?: string;
  readonly maxAttempts?: number;
}

/** The options of a worker; `defineWorker` takes them as they are. `P` is the payload's type, `R` the action's result. */
export interface WorkerOptions<P, R = unknown> {
  /** Unique across the registry; recorded as `workerName`; used to find the worker at execution time. */
  readonly name: string;
  /** io-ts codec of the payload. Default: any JSON value. */
  readonly payload?: t.Type<P, unknown, unknown>;
  /** The work itself; throws (rejects) when the job cannot be completed. Its resolved value is recorded as `result`. */
  readonly action: (payload: P, ctx: JobContext) => Promise<R>;
  /** The named queue (`jobtrail.work.<queue>`). Default: `default`. */
  readonly queue?: string;
  /** Attempts in all. Default: 10. */
  readonly maxAttempts?: number;
  /** Delay in ms before the attempt after `attempt` failed; `random` in [0, 1). Default: Hangfire's `(n−1)^4 + 15 + random(0..29)·n` seconds. */
  readonly retryDelay?: (attempt: number, random: number) => number;
  /** Abort and fail the attempt (`Timeout`) after this many ms. Default: none. */
  readonly timeoutMs?: number;
  /** Attempts of this worker running at once in one process. Default: 10. */
  readonly concurrency?: number;
  /**
   * Attempts cut short by a shutdown or a lost process (`Interrupted`, `WorkerLost`) retried, not counted in
   * `maxAttempts`; recorded with each job at enqueue. An enqueue's own `maxInterruptions` wins. Default: 10.
   */
  readonly maxInterruptions?: number;
  /** Whether a thrown error may be retried. Default: everything but `NonRetryableError`. */
  readonly isRetryable?: (error: unknown) => boolean;
  /** A recurring run of this worker, upserted when an engine that registers it starts. Default: none. */
  readonly schedule?: WorkerSchedule;
  /** At most `max` attempts start in any `perMs` ms, across every process sharing the store (docs/rate-limits.md). Default: none. */
  readonly rateLimit?: RateLimit;
}

/**
 * A background job type. Subclass it and give `name` and `action`, or use
 * `defineWorker`. The engine runs it; the state of each job is recorded by the
 * engine around `action` (the original design's `Execute`), which workers do
 * not implement. `P` is the payload's type (from its codec), `R` the type of
 * the action's result: `engine.enqueue(worker, payload)` checks the payload's
 * type, and the job ids it returns carry `R` to `getJob` and `waitForFinal`.
 *
 * `instanceof Worker` recognises workers made with any copy of jobtrail.
 */
export abstract class Worker<P = unknown, R = unknown> {
  static {
    brandClass(this, 'Worker');
  }
  /** Unique across the registry; recorded as `workerName`. */
  abstract readonly name: string;
  /** io-ts codec of the payload. Default: any JSON value. */
  readonly payload: t.Type<P, unknown, unknown> = JsonPayload as t.Type<P, unknown, unknown>;
  /** Default: `default`. */
  readonly queue: string = workerDefaults.queue;
  /** Default: 10. */
  readonly maxAttempts: number = workerDefaults.maxAttempts;
  /** Default: none. */
  readonly timeoutMs: number | undefined = undefined;
  /** Default: 10. */
  readonly concurrency: number = workerDefaults.concurrency;
  /** Interrupted attempts retried (not counted in `maxAttempts`). Default: none given, the engine's 10. Optional: a worker of an older copy has none. */
  readonly maxInterruptions?: number;
  /** A recurring run, upserted at `start` (docs/recurring.md). Default: none. */
  readonly schedule?: WorkerSchedule;
  /** At most `max` starts per `perMs` ms across processes (docs/rate-limits.md). Default: none. */
  readonly rateLimit?: RateLimit;

  /** The work; throws when the job cannot be completed. */
  abstract action(payload: P, ctx: JobContext): Promise<R>;

  /** Delay in ms before the next attempt after `attempt` failed. Default: Hangfire's. */
  retryDelay(attempt: number, random: number): number {
    return hangfireDelayMs(attempt, random);
  }

  /** Default: everything but `NonRetryableError`. */
  isRetryable(error: unknown): boolean {
    return !(error instanceof NonRetryableError);
  }

  /**
   * The original design's `Execute`: records `JobStarted`, calls `action`,
   * records `JobCompleted` or `JobErrored`. Implemented once, here, as a
   * read-only own property, so a subclass cannot replace it by accident (a
   * method of that name in a subclass is a compile error, and the registry
   * refuses such a worker). Its parameters are the engine's business: the
   * engine calls its own implementation, whichever copy of jobtrail made the
   * worker.
   */
  declare readonly execute: (deps: never, input: never) => Promise<unknown>;

  constructor() {
    Object.defineProperty(this, 'execute', {
      value: (deps: ExecuteDeps, input: AttemptInput) => executeAttempt(this, deps, input),
      writable: false,
      enumerable: false,
      configurable: false,
    });
  }
}

class DefinedWorker<P, R> extends Worker<P, R> {
  override readonly name: string;
  override readonly payload: t.Type<P, unknown, unknown>;
  override readonly queue: string;
  override readonly maxAttempts: number;
  override readonly timeoutMs: number | undefined;
  override readonly concurrency: number;
  declare readonly maxInterruptions?: number;
  declare readonly schedule?: WorkerSchedule;
  declare readonly rateLimit?: RateLimit;
  readonly #options: WorkerOptions<P, R>;

  constructor(options: WorkerOptions<P, R>) {
    super();
    this.#options = options;
    this.name = options.name;
    this.payload = options.payload ?? (JsonPayload as t.Type<P, unknown, unknown>);
    this.queue = options.queue ?? workerDefaults.queue;
    this.maxAttempts = options.maxAttempts ?? workerDefaults.maxAttempts;
    this.timeoutMs = options.timeoutMs;
    this.concurrency = options.concurrency ?? workerDefaults.concurrency;
    if (options.maxInterruptions !== undefined) this.maxInterruptions = options.maxInterruptions;
    if (options.schedule !== undefined) this.schedule = options.schedule;
    if (options.rateLimit !== undefined) this.rateLimit = options.rateLimit;
  }

  override action(payload: P, ctx: JobContext): Promise<R> {
    return this.#options.action(payload, ctx);
  }

  override retryDelay(attempt: number, random: number): number {
    return this.#options.retryDelay ? this.#options.retryDelay(attempt, random) : super.retryDelay(attempt, random);
  }

  override isRetryable(error: unknown): boolean {
    return this.#options.isRetryable ? this.#options.isRetryable(error) : super.isRetryable(error);
  }
}

/** Declares a worker from its options (see `WorkerOptions` for the defaults). */
export const defineWorker = <P = unknown, R = unknown, N extends string = string>(
  options: WorkerOptions<P, R> & { readonly name: N },
): Worker<P, R> & { readonly name: N } => new DefinedWorker(options) as Worker<P, R> as Worker<P, R> & { readonly name: N };

/** A problem with a worker's declaration: thrown when the registry is built. */
export class InvalidWorkerError extends JobtrailError {
  static {
    brandClass(this, 'InvalidWorkerError');
  }
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.InvalidWorker, message, options);
    this.name = 'InvalidWorkerError';
  }
}

/** Worker.prototype's brand, of whichever copy of jobtrail made the worker. */
const workerMark = brandMark('Worker');

/** Whether a subclass between the worker and the base class defines `execute` (which the base's own property would shadow). */
const overridesExecute = (w: object): boolean => {
  for (let proto = Object.getPrototypeOf(w) as object | null; proto !== null; proto = Object.getPrototypeOf(proto) as object | null) {
    if (Object.prototype.hasOwnProperty.call(proto, workerMark)) return false;
    if (Object.prototype.hasOwnProperty.call(proto, 'execute')) return true;
  }
  return false;
};

/** Checks what TypeScript cannot: a worker's settings are usable. */
export const validateWorker = (w: Worker<unknown>): void => {
  const problems: string[] = [];
  if (overridesExecute(w))
    problems.push(
      'it defines execute(), which the engine implements once for every worker: put the work in action() and rename that method',
    );
  if (typeof w.name !== 'string' || w.name.trim() === '' || w.name.length > 200) problems.push('name must be 1–200 characters');
  if (typeof w.action !== 'function') problems.push('action must be a function');
  if (!queueNamePattern.test(w.queue)) problems.push(`queue "${w.queue}" must be ${queueNameRule}`);
  if (!Number.isInteger(w.maxAttempts) || w.maxAttempts < 1) problems.push(`maxAttempts must be a whole number ≥ 1, got ${w.maxAttempts}`);
  if (!Number.isInteger(w.concurrency) || w.concurrency < 1) problems.push(`concurrency must be a whole number ≥ 1, got ${w.concurrency}`);
  if (w.timeoutMs !== undefined && !(w.timeoutMs > 0)) problems.push(`timeoutMs must be > 0, got ${w.timeoutMs}`);
  if (w.maxInterruptions !== undefined && !(Number.isInteger(w.maxInterruptions) && w.maxInterruptions >= 0 && w.maxInterruptions <= 1000))
    problems.push(`maxInterruptions must be a whole number from 0 to 1000, got ${w.maxInterruptions}`);
  if (w.rateLimit !== undefined) problems.push(...rateLimitProblems(w.rateLimit, 'rateLimit'));
  if (problems.length > 0) throw new InvalidWorkerError(`worker "${String(w.name)}": ${problems.join('; ')}`);
};
