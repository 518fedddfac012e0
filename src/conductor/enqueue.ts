import * as E from 'fp-ts/lib/Either.js';
import { PathReporter } from 'io-ts/lib/PathReporter.js';
import {
  initialJobState,
  IsoDate,
  isoDate,
  isJobView,
  jobIdPattern,
  setToInitialState,
  type JobId,
  type JobView,
  type PositiveInt,
} from '../job/index.js';
import type { JobStore, LoadedJob } from '../jobStore/index.js';
import { quote, type WorkerRegistry } from '../worker/index.js';
import { newJobId } from './newJobId.js';
import { publishAttempt, type ConductorDeps } from './dispatch.js';

/** Deepest nesting of arrays and objects accepted in a command (deeper input breaks recursive JSON tools downstream). */
export const maxCommandDepth = 64;

/** Whether a parsed JSON value nests deeper than `max` levels; iterative, so any depth is safe to check. */
export const nestsDeeperThan = (value: unknown, max: number): boolean => {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
};

/** Options of an enqueue (all optional; the defaults come from the worker). */
export interface EnqueueOptions {
  /** The dedupe key: enqueueing the same id twice makes one job. Default: a new time-ordered UUID (v7). */
  readonly jobId?: string;
  /** Default: the worker's queue. */
  readonly queue?: string;
  /** Default: the worker's `maxAttempts`. */
  readonly maxAttempts?: number;
  /** Run no earlier than this time (a `Date` or ISO-8601 text). Default: now. */
  readonly runAt?: Date | string;
  /** Recorded with the job. RabbitMQ's quorum queues deliver in order, not by priority. */
  readonly priority?: number;
  /** Who enqueued it, for the record. */
  readonly enqueuedBy?: string;
  /** Correlation id for the event metadata. Default: the job id. */
  readonly correlationId?: string;
  /** What caused it (a message id). Default: the job id. */
  readonly causationId?: string;
}

/** The result of an enqueue: the job id, and whether this call created it. */
export interface Enqueued {
  readonly jobId: string;
  readonly created: boolean;
  readonly job: JobView;
}

/** Reasons an enqueue is refused. */
export const EnqueueErrors = {
  UnknownWorker: 'UnknownWorker',
  InvalidPayload: 'InvalidPayload',
  InvalidOptions: 'InvalidOptions',
  StoreUnavailable: 'StoreUnavailable',
  BrokerUnavailable: 'BrokerUnavailable',
} as const;
export type EnqueueErrorTag = (typeof EnqueueErrors)[keyof typeof EnqueueErrors];

/** An enqueue the conductor refused; nothing was recorded (except for `BrokerUnavailable`, see its message). */
export class EnqueueRejectedError extends Error {
  constructor(
    readonly reason: EnqueueErrorTag,
    message: string,
  ) {
    super(message);
    this.name = 'EnqueueRejectedError';
  }
}

const reject = (reason: EnqueueErrorTag, message: string) => E.left(new EnqueueRejectedError(reason, message));

const validateOptions = (
  registry: WorkerRegistry,
  workerName: string,
  payload: unknown,
  options: EnqueueOptions,
  now: Date,
): E.Either<EnqueueRejectedError, { jobId: JobId; queue: string; maxAttempts: PositiveInt; runAt?: IsoDate; payload: unknown }> => {
  const worker = registry.get(workerName);
  if (!worker) return reject('UnknownWorker', registry.describeUnknown(workerName));
  if (nestsDeeperThan(payload, maxCommandDepth)) return reject('InvalidPayload', `the payload nests arrays or objects deeper than ${maxCommandDepth} levels`);
  const decoded = worker.payload.decode(payload);
  if (E.isLeft(decoded))
    return reject('InvalidPayload', `the payload does not match worker "${workerName}": ${PathReporter.report(decoded).join('; ')}`);
  const jobId = options.jobId ?? newJobId();
  if (typeof jobId !== 'string' || !jobIdPattern.test(jobId))
    return reject('InvalidOptions', `invalid jobId ${quote(jobId)}: use 1–128 characters of [A-Za-z0-9._:-]`);
  const queue = options.queue ?? worker.queue;
  if (typeof queue !== 'string' || !/^[A-Za-z0-9._-]{1,100}$/.test(queue))
    return reject('InvalidOptions', `invalid queue ${quote(queue)}: use 1–100 characters of [A-Za-z0-9._-]`);
  const maxAttempts = options.maxAttempts ?? worker.maxAttempts;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 1000)
    return reject('InvalidOptions', `invalid maxAttempts ${quote(maxAttempts)}: use a whole number from 1 to 1000`);
  if (options.priority !== undefined && !Number.isFinite(options.priority))
    return reject('InvalidOptions', `invalid priority ${quote(options.priority)}: use a number`);
  let runAt: IsoDate | undefined;
  if (options.runAt !== undefined) {
    const text = options.runAt instanceof Date ? (Number.isNaN(options.runAt.getTime()) ? 'Invalid Date' : options.runAt.toISOString()) : options.runAt;
    if (!IsoDate.is(text)) return reject('InvalidOptions', `invalid runAt ${quote(text)}: use ISO-8601 with a time zone, e.g. ${now.toISOString()}`);
    runAt = isoDate(new Date(text));
  }
  // What is recorded is the payload as the producer sent it, checked by the codec
  // (a codec that transforms, e.g. dates, decodes it again at execution time).
  return E.right({ jobId: jobId as JobId, queue, maxAttempts: maxAttempts as PositiveInt, payload, ...(runAt ? { runAt } : {}) });
};

/** Makes sure an `initial` job that has never started has its first dispatch on the way. */
const dispatchFirst = async (deps: ConductorDeps, view: JobView): Promise<E.Either<EnqueueRejectedError, void>> => {
  const delay = view.runAt !== undefined ? Date.parse(view.runAt) - deps.now().getTime() : 0;
  const r = await publishAttempt(deps, view, view.attempts + 1, delay);
  return E.isRight(r)
    ? E.right(undefined)
    : reject(
        'BrokerUnavailable',
        `job "${view.jobId}" is recorded but its dispatch could not be published (${r.left}); enqueue it again with the same jobId, or restart the engine, to dispatch it`,
      );
};

/**
 * `setToInitialState`: validates the worker and payload before anything is
 * recorded, appends `JobEnqueued` with expected revision `no_stream`, then
 * publishes the first attempt. Enqueueing an id that exists is a success that
 * creates nothing new (and re-dispatches a job that never started, in case the
 * first enqueue crashed between the append and the publish).
 */
export const enqueueJob = async (
  deps: ConductorDeps & { readonly jobs: JobStore },
  workerName: string,
  payload: unknown,
  options: EnqueueOptions = {},
): Promise<E.Either<EnqueueRejectedError, Enqueued>> => {
  const now = deps.now();
  if (typeof workerName !== 'string') return reject('UnknownWorker', deps.registry.describeUnknown(String(workerName)));
  const valid = validateOptions(deps.registry, workerName, payload, options, now);
  if (E.isLeft(valid)) return valid;
  const v = valid.right;
  const fresh: LoadedJob = { jobId: v.jobId, state: initialJobState, revision: 'no_stream' };
  const appended = await deps.jobs.transition(
    fresh,
    (s) =>
      setToInitialState(s, {
        jobId: v.jobId,
        workerName,
        queue: v.queue,
        payload: v.payload,
        maxAttempts: v.maxAttempts,
        enqueuedAt: isoDate(now),
        ...(v.runAt !== undefined ? { runAt: v.runAt } : {}),
        ...(options.priority !== undefined ? { priority: options.priority } : {}),
        ...(options.enqueuedBy !== undefined ? { enqueuedBy: options.enqueuedBy } : {}),
      }),
    { correlationId: options.correlationId ?? v.jobId, causationId: options.causationId ?? v.jobId },
  )();
  if (E.isRight(appended)) {
    const view = appended.right.state as JobView;
    const d = await dispatchFirst(deps, view);
    return E.isLeft(d) ? d : E.right({ jobId: v.jobId, created: true, job: view });
  }
  if (appended.left._tag === 'StoreUnavailable')
    return reject('StoreUnavailable', `job "${v.jobId}" was not enqueued: the store is unavailable (${appended.left.message}); try again`);
  // The stream exists: the same id was enqueued before.
  const existing = await deps.jobs.load(v.jobId)();
  if (E.isLeft(existing)) return reject('StoreUnavailable', `job "${v.jobId}" exists but could not be read: ${existing.left.message}`);
  const view = existing.right.state;
  if (!isJobView(view)) return reject('StoreUnavailable', `job "${v.jobId}" could not be read back`);
  if (view.status === 'initial' && view.attempts === 0) {
    const d = await dispatchFirst(deps, view);
    if (E.isLeft(d)) return d;
  }
  return E.right({ jobId: v.jobId, created: false, job: view });
};
