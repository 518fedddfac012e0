import * as E from 'fp-ts/lib/Either.js';
import { PathReporter } from 'io-ts/lib/PathReporter.js';
import {
  initialJobState,
  IsoDate,
  isoDate,
  isJobView,
  jobIdPattern,
  jobIdRule,
  maxParents,
  queueNamePattern,
  queueNameRule,
  setToInitialState,
  type ContinuationOn,
  type JobId,
  type JobRef,
  type JobView,
  type PositiveInt,
} from '../job/index.js';
import { viewOf, type LoadedJob } from '../jobStore/index.js';
import { InvalidWorkerError, quote, validateWorker, Worker, type WorkerRegistry } from '../worker/index.js';
import { newJobId } from './newJobId.js';
import { publishAttempt, type ConductorDeps } from './dispatch.js';
import { evaluateContinuation, linkContinuation } from './continuations.js';
import { brandClass, ErrorCodes, JobtrailError } from '../errors/index.js';
import type { TraceCarrier } from '../tracing/index.js';
import { traceEnqueue } from './tracing.js';

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
  /** Interrupted attempts (a shutdown, a lost process) retried, not counted in `maxAttempts`. Default: the worker's, else 10. */
  readonly maxInterruptions?: number;
  /** Run no earlier than this time (a `Date` or ISO-8601 text). Default: now. */
  readonly runAt?: Date | string;
  /** Higher first (a finite number; default 0), on every dispatch of the job; RabbitMQ 4.x: above 0 is high, 3.x ignores it (docs/running.md). */
  readonly priority?: number;
  /** Who enqueued it, for the record. */
  readonly enqueuedBy?: string;
  /** A recurring job's fire, recorded with the job (set by the scheduler). */
  readonly schedule?: { readonly scheduleId: string; readonly fireTime: Date };
  /** Correlation id for the event metadata. Default: the job id. */
  readonly correlationId?: string;
  /** What caused it (a message id). Default: the job id. */
  readonly causationId?: string;
  /**
   * A continuation: run only after this job (or, for an array, every one of these jobs: fan-in) is final.
   * Each must exist (or come earlier in the same `enqueueMany`). The job waits in status `awaiting`.
   */
  readonly after?: string | readonly string[];
  /** With `after`: `completed` (default) runs it only if every parent completed, else cancels it; `finished` runs it however they ended. */
  readonly on?: ContinuationOn;
}

/** The result of an enqueue: the job id, and whether this call created it. `R`: the worker's result type, when known. */
export interface Enqueued<R = unknown> {
  readonly jobId: JobRef<R>;
  readonly created: boolean;
  readonly job: JobView<R>;
  /**
   * Why the job will wait, when it will (docs/queues.md): its queue is paused, or no process consumes it. The job is
   * recorded and dispatched all the same. Absent when there is nothing to say.
   */
  readonly warnings?: readonly string[];
}

/** Reasons an enqueue is refused. */
export const EnqueueErrors = {
  UnknownWorker: 'UnknownWorker',
  InvalidPayload: 'InvalidPayload',
  InvalidOptions: 'InvalidOptions',
  UnknownParent: 'UnknownParent',
  StoreUnavailable: 'StoreUnavailable',
  BrokerUnavailable: 'BrokerUnavailable',
} as const;
export type EnqueueErrorTag = (typeof EnqueueErrors)[keyof typeof EnqueueErrors];

/** An enqueue the conductor refused; nothing was recorded (except for `BrokerUnavailable`, see its message). */
export class EnqueueRejectedError extends JobtrailError {
  static {
    brandClass(this, 'EnqueueRejectedError');
  }
  constructor(
    readonly reason: EnqueueErrorTag,
    message: string,
    /** The job's id, when the enqueue got as far as choosing it (a store or broker failure). */
    readonly jobId?: string,
  ) {
    super(ErrorCodes.EnqueueRejected, message);
    this.name = 'EnqueueRejectedError';
  }
}

/**
 * An `enqueueMany` whose jobs were not all enqueued (the store or the broker
 * failed part way). `outcomes` has each item's, in order: the `Enqueued` of
 * those that were, the `EnqueueRejectedError` of the others, which says
 * whether the job is recorded and what to do.
 */
export class EnqueueManyError extends JobtrailError {
  static {
    brandClass(this, 'EnqueueManyError');
  }
  /** How many items were not enqueued. */
  readonly failed: number;
  constructor(readonly outcomes: readonly (Enqueued | EnqueueRejectedError)[]) {
    const failures = outcomes.flatMap((o, i) => (o instanceof EnqueueRejectedError ? [[i, o] as const] : []));
    const enqueued = outcomes.length - failures.length;
    const [index, first] = failures[0] ?? [-1, undefined];
    super(
      ErrorCodes.EnqueuePartlyFailed,
      `${failures.length} of ${outcomes.length} jobs were not enqueued${enqueued > 0 ? ` (${enqueued} were)` : ''}; ` +
        `item ${index}: ${first?.message ?? '?'}. Each item's outcome is in .outcomes; enqueue the failed ones again with the jobIds they give`,
    );
    this.name = 'EnqueueManyError';
    this.failed = failures.length;
  }
}

const reject = (reason: EnqueueErrorTag, message: string, jobId?: string) => E.left(new EnqueueRejectedError(reason, message, jobId));

/** A checked enqueue: its worker, its options as given, and as checked with the defaults filled in. */
interface ValidEnqueue {
  readonly workerName: string;
  readonly options: EnqueueOptions;
  readonly jobId: JobId;
  readonly queue: string;
  readonly maxAttempts: PositiveInt;
  /** The enqueue's, else the worker's; absent: the default (10). */
  readonly maxInterruptions: number | undefined;
  readonly runAt: IsoDate | undefined;
  readonly payload: unknown;
  /** A continuation's parents (deduplicated), and when it runs. */
  readonly after: readonly JobId[] | undefined;
  readonly on: ContinuationOn | undefined;
}

/** What an enqueue names: a worker, or a worker's name. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a worker of any payload and result type
export type WorkerRef = string | Worker<any, any>;

/**
 * The worker an enqueue names: the registered one of that name; else the
 * worker itself when it was given (a process that only enqueues need not
 * register the workers it enqueues for).
 */
const resolveWorker = (registry: WorkerRegistry, target: unknown): E.Either<EnqueueRejectedError, Worker<unknown>> => {
  if (target instanceof Worker) {
    const registered = registry.get(target.name);
    if (registered) return E.right(registered);
    try {
      validateWorker(target);
    } catch (error) {
      if (error instanceof InvalidWorkerError) return reject('UnknownWorker', error.message);
      throw error;
    }
    return E.right(target as Worker<unknown>);
  }
  if (typeof target !== 'string')
    return reject('UnknownWorker', `${registry.describeUnknown(String(target))}; name a worker, or pass the worker itself`);
  const worker = registry.get(target);
  if (!worker) {
    const hint =
      registry.names.length === 0 ? ' (pass the worker itself, enqueue(worker, payload), or register it in createEngine({ workers }))' : '';
    return reject('UnknownWorker', `${registry.describeUnknown(target)}${hint}`);
  }
  return E.right(worker);
};

/** Checks one enqueue's worker, payload and options (nothing is recorded). */
const validate = (
  registry: WorkerRegistry,
  target: unknown,
  payload: unknown,
  given: unknown,
  now: Date,
): E.Either<EnqueueRejectedError, ValidEnqueue> => {
  if (typeof given !== 'object' || given === null) return reject('InvalidOptions', `options must be an object; got ${quote(given)}`);
  const options = given as EnqueueOptions;
  const resolved = resolveWorker(registry, target);
  if (E.isLeft(resolved)) return resolved;
  const worker = resolved.right;
  const workerName = worker.name;
  if (nestsDeeperThan(payload, maxCommandDepth))
    return reject('InvalidPayload', `the payload nests arrays or objects deeper than ${maxCommandDepth} levels`);
  const decoded = worker.payload.decode(payload);
  if (E.isLeft(decoded))
    return reject('InvalidPayload', `the payload does not match worker "${workerName}": ${PathReporter.report(decoded).join('; ')}`);
  const jobId = options.jobId ?? newJobId();
  if (typeof jobId !== 'string' || !jobIdPattern.test(jobId))
    return reject('InvalidOptions', `invalid jobId ${quote(jobId)}: use ${jobIdRule}`);
  const queue = options.queue ?? worker.queue;
  if (typeof queue !== 'string' || !queueNamePattern.test(queue))
    return reject('InvalidOptions', `invalid queue ${quote(queue)}: use ${queueNameRule}`);
  const maxAttempts = options.maxAttempts ?? worker.maxAttempts;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 1000)
    return reject('InvalidOptions', `invalid maxAttempts ${quote(maxAttempts)}: use a whole number from 1 to 1000`);
  const maxInterruptions = options.maxInterruptions ?? worker.maxInterruptions;
  if (maxInterruptions !== undefined && !(Number.isInteger(maxInterruptions) && maxInterruptions >= 0 && maxInterruptions <= 1000))
    return reject('InvalidOptions', `invalid maxInterruptions ${quote(maxInterruptions)}: use a whole number from 0 to 1000`);
  if (options.priority !== undefined && !Number.isFinite(options.priority))
    return reject('InvalidOptions', `invalid priority ${quote(options.priority)}: use a number`);
  let runAt: IsoDate | undefined;
  if (options.runAt !== undefined) {
    const text =
      options.runAt instanceof Date
        ? Number.isNaN(options.runAt.getTime())
          ? 'Invalid Date'
          : options.runAt.toISOString()
        : options.runAt;
    if (!IsoDate.is(text))
      return reject('InvalidOptions', `invalid runAt ${quote(text)}: use ISO-8601 with a time zone, e.g. ${now.toISOString()}`);
    runAt = isoDate(new Date(text));
  }
  const parents = checkAfter(options, jobId);
  if (E.isLeft(parents)) return parents;
  // What is recorded is the payload as the producer sent it, checked by the codec
  // (a codec that transforms, e.g. dates, decodes it again at execution time).
  return E.right({
    workerName,
    options,
    jobId: jobId as JobId,
    queue,
    maxAttempts: maxAttempts as PositiveInt,
    maxInterruptions,
    runAt,
    payload,
    ...parents.right,
  });
};

/** Checks `after` and `on`: valid, distinct parent ids (a repeated one counts once), not the job itself; `on` only with `after`. */
const checkAfter = (
  options: EnqueueOptions,
  jobId: string,
): E.Either<EnqueueRejectedError, { after: readonly JobId[] | undefined; on: ContinuationOn | undefined }> => {
  const { after, on } = options;
  if (after === undefined) {
    if (on !== undefined) return reject('InvalidOptions', `"on" (${quote(on)}) is for a continuation: give "after" too`);
    return E.right({ after: undefined, on: undefined });
  }
  const ids: unknown[] = typeof after === 'string' ? [after] : Array.isArray(after) ? after : [after];
  if (ids.length === 0) return reject('InvalidOptions', '"after" names no job: give a job id, or an array of one or more');
  for (const id of ids)
    if (typeof id !== 'string' || !jobIdPattern.test(id))
      return reject('InvalidOptions', `invalid "after" job id ${quote(id)}: use ${jobIdRule}`);
  const unique = [...new Set(ids as string[])];
  if (unique.length > maxParents)
    return reject('InvalidOptions', `"after" names ${unique.length} jobs; a continuation waits for at most ${maxParents}`);
  if (unique.includes(jobId)) return reject('InvalidOptions', `job "${jobId}" cannot run after itself`);
  if (on !== undefined && on !== 'completed' && on !== 'finished')
    return reject(
      'InvalidOptions',
      `invalid "on" ${quote(on)}: use "completed" (every parent completed) or "finished" (every parent final)`,
    );
  return E.right({ after: unique as JobId[], on: on ?? 'completed' });
};

/** Makes sure an `initial` job that has never started has its first dispatch on the way. */
const dispatchFirst = async (deps: ConductorDeps, view: JobView): Promise<E.Either<EnqueueRejectedError, void>> => {
  const delay = view.runAt !== undefined ? Date.parse(view.runAt) - deps.now().getTime() : 0;
  const r = await publishAttempt(deps, view, view.attempts + 1, delay);
  return E.isRight(r)
    ? E.right(undefined)
    : reject(
        'BrokerUnavailable',
        `job "${view.jobId}" is recorded but its dispatch could not be published (${r.left.message}); enqueue it again with the same jobId, or restart the engine, to dispatch it`,
        view.jobId,
      );
};

/** Appends `JobEnqueued` at `no_stream` and dispatches the first attempt; an existing id is a success that creates nothing new. */
const record = async (
  deps: ConductorDeps,
  v: ValidEnqueue,
  now: Date,
  trace?: TraceCarrier,
): Promise<E.Either<EnqueueRejectedError, Enqueued>> => {
  const { options } = v;
  const parents = await checkParentsExist(deps, v);
  if (E.isLeft(parents)) return parents;
  const fresh: LoadedJob = { jobId: v.jobId, state: initialJobState, revision: 'no_stream' };
  const appended = await deps.jobs.transition(
    fresh,
    (s) =>
      setToInitialState(s, {
        jobId: v.jobId,
        workerName: v.workerName,
        queue: v.queue,
        payload: v.payload,
        maxAttempts: v.maxAttempts,
        ...(v.maxInterruptions !== undefined ? { maxInterruptions: v.maxInterruptions } : {}),
        enqueuedAt: isoDate(now),
        ...(v.runAt !== undefined ? { runAt: v.runAt } : {}),
        ...(options.priority !== undefined ? { priority: options.priority } : {}),
        ...(options.enqueuedBy !== undefined ? { enqueuedBy: options.enqueuedBy } : {}),
        ...(options.schedule !== undefined
          ? { scheduleId: options.schedule.scheduleId, fireTime: isoDate(options.schedule.fireTime) }
          : {}),
        ...(v.after !== undefined ? { after: v.after, on: v.on ?? 'completed' } : {}),
      }),
    {
      correlationId: options.correlationId ?? v.jobId,
      causationId: options.causationId ?? v.jobId,
      ...(trace !== undefined ? { trace } : {}),
    },
  )();
  if (E.isRight(appended)) {
    const view = viewOf(appended.right);
    deps.observer?.enqueued?.(view);
    if (view.status === 'awaiting') return settleContinuation(deps, view, true);
    const d = await dispatchFirst(deps, view);
    return E.isLeft(d) ? d : E.right({ jobId: v.jobId, created: true, job: view });
  }
  if (appended.left._tag === 'AppendTooLarge')
    return reject(
      'InvalidPayload',
      `job "${v.jobId}" was not enqueued: its JobEnqueued event is ${appended.left.size ?? 'over'} bytes and the store takes at most ` +
        `${appended.left.limit} bytes per event; pass a reference (a URL, a key) to large data instead of the data`,
      v.jobId,
    );
  if (appended.left._tag === 'StreamDeleted')
    return reject(
      'InvalidOptions',
      `job "${v.jobId}" was not enqueued: its stream was deleted for good (tombstoned) and cannot be written again; use another job id`,
      v.jobId,
    );
  if (appended.left._tag === 'StoreUnavailable')
    return reject(
      'StoreUnavailable',
      `job "${v.jobId}" was not enqueued: the store is unavailable (${appended.left.message}); try again`,
      v.jobId,
    );
  // The stream exists: the same id was enqueued before.
  const existing = await deps.jobs.load(v.jobId)();
  if (E.isLeft(existing))
    return reject('StoreUnavailable', `job "${v.jobId}" exists but could not be read: ${existing.left.message}`, v.jobId);
  const view = existing.right.state;
  if (!isJobView(view)) return reject('StoreUnavailable', `job "${v.jobId}" could not be read back`, v.jobId);
  // The first enqueue may have crashed before linking the continuation to its parents: link it now.
  if (view.status === 'awaiting') return settleContinuation(deps, view, false);
  if (view.status === 'initial' && view.attempts === 0) {
    const d = await dispatchFirst(deps, view);
    if (E.isLeft(d)) return d;
  }
  return E.right({ jobId: v.jobId, created: false, job: view });
};

/** Refuses a continuation whose parents do not all exist (nothing is recorded then). */
const checkParentsExist = async (deps: ConductorDeps, v: ValidEnqueue): Promise<E.Either<EnqueueRejectedError, void>> => {
  for (const id of v.after ?? []) {
    const p = await deps.jobs.load(id)();
    if (E.isLeft(p))
      return reject(
        'StoreUnavailable',
        `job "${v.jobId}" was not enqueued: its parent "${id}" could not be read (${p.left.message}); try again`,
        v.jobId,
      );
    if (!isJobView(p.right.state))
      return reject(
        'UnknownParent',
        `job "${v.jobId}" was not enqueued: its parent "${id}" does not exist (no stream job-${id}); enqueue the parent first`,
      );
  }
  return E.right(undefined);
};

/**
 * A continuation is recorded (`awaiting`): link it to each parent, then
 * evaluate it, which releases or cancels it at once when its parents are
 * final already (or became final while it was being linked).
 */
const settleContinuation = async (
  deps: ConductorDeps,
  view: JobView,
  created: boolean,
): Promise<E.Either<EnqueueRejectedError, Enqueued>> => {
  const cause = `enqueue:${view.jobId}`;
  const linked = await linkContinuation(deps, view, cause);
  const evaluated = E.isLeft(linked) ? linked : await evaluateContinuation(deps, view.jobId, cause);
  if (E.isLeft(evaluated))
    return reject(
      'StoreUnavailable',
      `job "${view.jobId}" is recorded (awaiting) but could not be linked to its parents or evaluated (${evaluated.left.message}); ` +
        'enqueue it again with the same jobId, or start an engine, to finish it',
      view.jobId,
    );
  if (evaluated.right === 'waiting') return E.right({ jobId: view.jobId, created, job: view });
  // Released, cancelled, or moved by another process meanwhile: answer with the job as it is now.
  const now = await deps.jobs.load(view.jobId)();
  const job = E.isRight(now) && isJobView(now.right.state) ? now.right.state : view;
  return E.right({ jobId: view.jobId, created, job });
};

/**
 * `setToInitialState`: validates the worker and payload before anything is
 * recorded, appends `JobEnqueued` with expected revision `no_stream`, then
 * publishes the first attempt. Enqueueing an id that exists is a success that
 * creates nothing new (and re-dispatches a job that never started, in case the
 * first enqueue crashed between the append and the publish).
 */
export const enqueueJob = async (
  deps: ConductorDeps,
  workerName: WorkerRef,
  payload: unknown,
  options: EnqueueOptions = {},
): Promise<E.Either<EnqueueRejectedError, Enqueued>> => {
  const now = deps.now();
  const valid = validate(deps.registry, workerName, payload, options, now);
  return E.isLeft(valid) ? valid : traceEnqueue(deps.broker.kind, valid.right, (trace) => record(deps, valid.right, now, trace));
};

/**
 * One job of `enqueueJobs`: what `enqueueJob` takes, as an object: the
 * worker's name (`workerName`), or the worker itself (`worker`, which types
 * the payload).
 */
export type EnqueueItem<P = unknown> =
  | { readonly workerName: string; readonly payload: unknown; readonly options?: EnqueueOptions }
  | { readonly worker: Worker<P, unknown>; readonly payload: P; readonly options?: EnqueueOptions };

/** Most jobs one `enqueueJobs` call takes. */
export const maxEnqueueBatch = 10_000;

/**
 * Enqueues many jobs at once (BullMQ's `addBulk`, Graphile Worker's
 * `addJobs`). Every item is checked first: one invalid item, or a job id
 * named twice, refuses the whole batch and records nothing. Then each job is
 * recorded and dispatched as `enqueueJob` does, all together: their appends
 * share the store's group commits. The outcomes come back in the items'
 * order; each job stands alone (a stream per job), so when the store or the
 * broker fails part way, some jobs are enqueued and the others say why not.
 */
export const enqueueJobs = async (
  deps: ConductorDeps,
  items: readonly EnqueueItem[],
): Promise<E.Either<EnqueueRejectedError, readonly E.Either<EnqueueRejectedError, Enqueued>[]>> => {
  if (!Array.isArray(items))
    return reject('InvalidOptions', `enqueueMany takes an array of { workerName (or worker), payload, options? }; got ${quote(items)}`);
  if (items.length > maxEnqueueBatch)
    return reject(
      'InvalidOptions',
      `enqueueMany takes at most ${maxEnqueueBatch} jobs at once; got ${items.length}: split them into smaller batches`,
    );
  const now = deps.now();
  const valid: ValidEnqueue[] = [];
  const indexOf = new Map<string, number>();
  for (let i = 0; i < items.length; i++) {
    const item: unknown = items[i];
    if (typeof item !== 'object' || item === null)
      return reject(
        'InvalidOptions',
        `item ${i}: expected { workerName (or worker), payload, options? }; got ${quote(item)}; nothing was enqueued`,
      );
    const { payload, options = {} } = item as EnqueueItem;
    const v = validate(
      deps.registry,
      'worker' in item ? item.worker : (item as { workerName?: unknown }).workerName,
      payload,
      options,
      now,
    );
    if (E.isLeft(v)) return reject(v.left.reason, `item ${i}: ${v.left.message}; nothing was enqueued`);
    const first = indexOf.get(v.right.jobId);
    if (first !== undefined)
      return reject(
        'InvalidOptions',
        `item ${i}: jobId "${v.right.jobId}" is item ${first}'s too; name each job once per batch; nothing was enqueued`,
      );
    indexOf.set(v.right.jobId, i);
    valid.push(v.right);
  }
  const layers = layersByParents(valid, indexOf);
  if (E.isLeft(layers)) return layers;
  // A parent outside the batch must exist: checked before anything is recorded.
  const outside = new Map<string, number>();
  valid.forEach((v, i) => v.after?.forEach((p) => !indexOf.has(p) && !outside.has(p) && outside.set(p, i)));
  for (const [parentId, i] of outside) {
    const p = await deps.jobs.load(parentId)();
    if (E.isLeft(p))
      return reject('StoreUnavailable', `item ${i}: its parent "${parentId}" could not be read (${p.left.message}); nothing was enqueued`);
    if (!isJobView(p.right.state))
      return reject(
        'UnknownParent',
        `item ${i}: its parent "${parentId}" is neither in the batch nor an existing job; nothing was enqueued`,
      );
  }
  // Parents first: each layer is recorded (together) once the layers it names are.
  const outcomes: E.Either<EnqueueRejectedError, Enqueued>[] = new Array(valid.length);
  for (const layer of layers.right)
    await Promise.all(
      layer.map(async (i) => {
        const v = valid[i]!;
        // A parent of the batch that was not recorded (a BrokerUnavailable one was) leaves its children unrecorded too.
        const missing = v.after?.find((p) => {
          const o = outcomes[indexOf.get(p) ?? -1];
          return o !== undefined && E.isLeft(o) && o.left.reason !== 'BrokerUnavailable';
        });
        outcomes[i] =
          missing !== undefined
            ? reject('StoreUnavailable', `job "${v.jobId}" was not enqueued: its parent "${missing}" (in the same batch) was not`, v.jobId)
            : await traceEnqueue(deps.broker.kind, v, (trace) => record(deps, v, now, trace));
      }),
    );
  return E.right(outcomes);
};

/**
 * Orders a batch so that every job comes after the parents it names within
 * the batch: layer 0 names none of the batch, layer n names some of layer
 * n−1 and none later. Jobs that name each other in a ring are refused (a
 * cycle can only be written in one batch: anywhere else a parent must exist
 * before its child).
 */
const layersByParents = (
  valid: readonly ValidEnqueue[],
  indexOf: ReadonlyMap<string, number>,
): E.Either<EnqueueRejectedError, number[][]> => {
  // Kahn's layering, without recursion: a chain of 10,000 items is as deep as a batch may be.
  const waitingFor = new Array<number>(valid.length).fill(0);
  const childrenOf: number[][] = valid.map(() => []);
  valid.forEach((v, i) => {
    for (const p of new Set(v.after ?? [])) {
      const j = indexOf.get(p);
      if (j === undefined) continue;
      waitingFor[i]! += 1;
      childrenOf[j]!.push(i);
    }
  });
  const layers: number[][] = [];
  let layer = valid.flatMap((_, i) => (waitingFor[i] === 0 ? [i] : []));
  while (layer.length > 0) {
    layers.push(layer);
    const next: number[] = [];
    for (const j of layer) for (const c of childrenOf[j]!) if ((waitingFor[c]! -= 1) === 0) next.push(c);
    layer = next;
  }
  const stuck = waitingFor.findIndex((w) => w > 0);
  if (stuck >= 0)
    return reject(
      'InvalidOptions',
      `item ${stuck}: job "${valid[stuck]!.jobId}" is in or after a cycle of "after" (a job its own ancestor); nothing was enqueued`,
    );
  return E.right(layers);
};
