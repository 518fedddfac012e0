import * as E from 'fp-ts/lib/Either.js';
import { workQueueName, type QueueInspection } from '../broker/index.js';
import type { ConductorDeps, Enqueued } from '../conductor/index.js';
import { StoreUnavailableError } from '../errors/index.js';
import type { EventStore } from '../eventStore/index.js';
import { isoDate, queueNamePattern, queueNameRule, type JobStatus } from '../job/index.js';
import { storeRead } from '../jobStore/index.js';
import type { ProjectionQueries } from '../projections/index.js';
import { quote } from '../worker/index.js';
import { InvalidQueueError } from './errors.js';
import type { QueueEvent } from './events.js';
import { makeProcessDirectory } from './processDirectory.js';
import type { QueueConsumers } from './queueConsumers.js';
import type { LoadedQueue, QueueStore } from './queueStore.js';
import type { QueueControl } from './state.js';

/** Who pauses or resumes a queue, and why: recorded in the event. */
export interface QueueActionOptions {
  readonly by?: string;
  readonly reason?: string;
}

/** The outcome of `pauseQueue` / `resumeQueue`: `changed: false` when the queue was so already (nothing recorded). */
export interface QueueChange {
  readonly queue: string;
  readonly changed: boolean;
  readonly paused: boolean;
  /** The queue's control state after the call: its last change's time, `by` and `reason`. */
  readonly control: QueueControl;
}

/** A queue as `listQueues` shows it. */
export interface QueueInfo {
  readonly name: string;
  readonly paused: boolean;
  /** While paused: when, by whom and why. */
  readonly pausedAt?: string;
  readonly pausedBy?: string;
  readonly pauseReason?: string;
  /** The workers of the queue registered in this process. */
  readonly workers: readonly string[];
  /** Messages ready in the queue, where known: RabbitMQ's count; in-process, this started engine's own queue. */
  readonly depth?: number;
  /**
   * Consumers taking work from it now, where known: RabbitMQ's count; in the embedded mode, the live processes whose
   * heartbeat lists the queue (0 while paused).
   */
  readonly consumers?: number;
  /** Embedded mode: the live processes that run a worker of the queue (their heartbeats say so). */
  readonly processes?: readonly string[];
  /** Not paused, and no process consumes it: jobs sent to it wait until one starts. */
  readonly noConsumer: boolean;
}

export interface QueueDeps {
  readonly conductor: ConductorDeps & { readonly store: EventStore };
  readonly queues: QueueStore;
  /** The started engine's queue consumers; `undefined` while the engine is not started. */
  readonly consumers: () => QueueConsumers | undefined;
  /** The read side, whose job lists name more queues. */
  readonly readSide?: () => Promise<{ readonly queries: Pick<ProjectionQueries, 'listJobViews'> }>;
}

/** How long what was learned of a queue (its stream, its consumers) is reused: an enqueue does not pay a round trip per job. */
export const queueStatusTtlMs = 2_000;
/** Most queues `listQueues` shows. */
export const maxListedQueues = 500;
/** Job views per status that `listQueues` reads for the queues they name. */
const viewsPerStatus = 200;
const listedStatuses: readonly JobStatus[] = ['initial', 'awaiting', 'errored', 'in_progress'];

/** A queue name, or `InvalidQueueError` saying what one is. */
export const checkQueueName = (queue: unknown): string => {
  if (typeof queue !== 'string' || !queueNamePattern.test(queue))
    throw new InvalidQueueError(`invalid queue name ${quote(queue)}: use ${queueNameRule}`);
  return queue;
};

const checkText = (what: string, value: unknown, max: number): string | undefined => {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > max)
    throw new InvalidQueueError(`${what} must be text of at most ${max} characters; got ${quote(value)}`);
  return value.trim() === '' ? undefined : value;
};

const cached = <K, V>(ttlMs: number, load: (key: K) => Promise<V>) => {
  const entries = new Map<K, { at: number; value: Promise<V> }>();
  return {
    get: (key: K): Promise<V> => {
      const hit = entries.get(key);
      if (hit !== undefined && Date.now() - hit.at < ttlMs) return hit.value;
      const value = load(key);
      entries.set(key, { at: Date.now(), value });
      // A failure is not kept: the next call asks again.
      value.catch(() => entries.get(key)?.value === value && entries.delete(key));
      if (entries.size > 10_000) entries.delete(entries.keys().next().value as K);
      return value;
    },
    forget: (key: K) => void entries.delete(key),
  };
};

/** The queue operations of one engine: pause, resume, list, and the warning for an enqueue nobody will take. */
export const makeQueues = (deps: QueueDeps) => {
  const { conductor, queues } = deps;
  const { broker, log } = conductor;
  const directory = makeProcessDirectory(conductor.store, conductor.processId);
  const controls = cached(queueStatusTtlMs, (queue: string) => storeRead(queues.load(queue), `queue "${queue}"`));
  const inspections = cached(queueStatusTtlMs, (queue: string): Promise<QueueInspection | undefined> =>
    broker.inspectQueue ? broker.inspectQueue(workQueueName(queue)) : Promise.resolve(undefined),
  );
  const ownChanges = new Map<string, QueueControl>();
  let directoryReadAt = 0;
  const refreshDirectory = async () => {
    if (Date.now() - directoryReadAt < queueStatusTtlMs / 2) return;
    await directory.refresh();
    directoryReadAt = Date.now();
  };

  const change = async (queue: string, paused: boolean, options: QueueActionOptions = {}): Promise<QueueChange> => {
    const name = checkQueueName(queue);
    if (typeof options !== 'object' || options === null) throw new InvalidQueueError(`options must be an object; got ${quote(options)}`);
    const by = checkText('by', options.by, 100);
    const reason = checkText('reason', options.reason, 500);
    let known: LoadedQueue | undefined;
    for (let tries = 0; ; tries++) {
      const loaded: LoadedQueue = await storeRead(queues.load(name, known), `queue "${name}"`);
      known = loaded;
      if (loaded.state.paused === paused) return { queue: name, changed: false, paused, control: loaded.state };
      const data = {
        queue: name,
        at: isoDate(conductor.now()),
        ...(by !== undefined ? { by } : {}),
        ...(reason !== undefined ? { reason } : {}),
      };
      const event: QueueEvent = paused ? { type: 'QueuePaused', data } : { type: 'QueueResumed', data };
      const r = await queues.append(loaded, [event], by)();
      if (E.isRight(r)) {
        controls.forget(name);
        ownChanges.set(name, r.right.state);
        log.info({ queue: name, paused, by, reason }, paused ? 'queue paused' : 'queue resumed');
        return { queue: name, changed: true, paused, control: r.right.state };
      }
      // Another process changed the queue first: read again and decide again.
      if (r.left._tag !== 'WrongExpectedRevision' || tries >= 20) throw new StoreUnavailableError(`queue "${name}": ${r.left.message}`);
    }
  };

  /** What is known of one queue now (cached for `queueStatusTtlMs`). */
  const status = async (queue: string): Promise<QueueInfo> => {
    // A started engine follows every queue stream: what it knows is fresher than a cached read; this engine's own
    // change is fresher still until the stream it follows catches up (the newer change wins).
    const followed = deps.consumers()?.control(queue) ?? (await controls.get(queue)).state;
    const own = ownChanges.get(queue);
    const control = own !== undefined && (followed.changedAt ?? '') < (own.changedAt ?? '') ? own : followed;
    const workers = conductor.registry.workers.filter((w) => w.queue === queue).map((w) => w.name);
    const pause = control.paused
      ? {
          ...(control.changedAt !== undefined ? { pausedAt: control.changedAt } : {}),
          ...(control.by !== undefined ? { pausedBy: control.by } : {}),
          ...(control.reason !== undefined ? { pauseReason: control.reason } : {}),
        }
      : {};
    let depth: number | undefined;
    let consumers: number | undefined;
    let processes: string[] | undefined;
    if (broker.reachesOtherProcesses && broker.inspectQueue) {
      const seen = await inspections.get(queue);
      depth = seen?.messages ?? 0;
      consumers = seen?.consumers ?? 0;
    } else {
      await refreshDirectory();
      const found = directory.consumersOf(queue);
      processes = [...found.processes];
      // This engine consumes it even if it writes no heartbeat (heartbeatIntervalMs: 0).
      const local = deps.consumers();
      if (local !== undefined && conductor.registry.queues.includes(queue) && !processes.includes(conductor.processId))
        processes.push(conductor.processId);
      consumers = control.paused ? 0 : processes.length === 0 && found.unknown ? undefined : processes.length;
      // In-process, only a started engine's own queue holds this process's copy of the work.
      if (local !== undefined && broker.inspectQueue) depth = (await broker.inspectQueue(workQueueName(queue)))?.messages ?? 0;
    }
    return {
      name: queue,
      paused: control.paused,
      ...pause,
      workers,
      ...(depth !== undefined ? { depth } : {}),
      ...(consumers !== undefined ? { consumers } : {}),
      ...(processes !== undefined ? { processes } : {}),
      noConsumer: !control.paused && consumers === 0,
    };
  };

  const warnedAt = new Map<string, number>();
  /** Why a job just sent to `queue` will wait: the queue is paused, or no process consumes it; `undefined` when neither. */
  const warningFor = async (queue: string, jobId: string): Promise<string | undefined> => {
    // A started engine that consumes the queue itself, not paused: nothing to ask (no read on an enqueue's path).
    const local = deps.consumers();
    if (
      local !== undefined &&
      conductor.registry.queues.includes(queue) &&
      !local.isPaused(queue) &&
      ownChanges.get(queue)?.paused !== true
    )
      return undefined;
    let s: QueueInfo;
    try {
      s = await status(queue);
    } catch (error) {
      log.debug({ queue, err: (error as Error).message }, 'could not tell whether the queue has consumers');
      return undefined;
    }
    const warning = s.paused
      ? `queue "${queue}" is paused${s.pausedBy !== undefined ? ` by ${s.pausedBy}` : ''}${s.pausedAt !== undefined ? ` since ${s.pausedAt}` : ''}` +
        `${s.pauseReason !== undefined ? ` (${s.pauseReason})` : ''}: job ${jobId} is recorded and waits until it is resumed (jobtrail queue resume ${queue})`
      : s.noConsumer
        ? `no process consumes queue "${queue}": job ${jobId} is recorded and waits until a process that runs its worker starts (jobtrail run)`
        : undefined;
    if (warning !== undefined) {
      // Logged once a minute per queue, not once per job; every result carries it.
      const last = warnedAt.get(queue);
      if (last === undefined || Date.now() - last > 60_000) {
        warnedAt.set(queue, Date.now());
        log.warn({ queue, jobId, paused: s.paused }, warning);
      }
    }
    return warning;
  };

  /** The queues known here: the registered workers', those named in queue streams, and those of waiting jobs (bounded). */
  const list = async (): Promise<readonly QueueInfo[]> => {
    const names = new Set<string>(conductor.registry.queues);
    const { queues: streams } = await storeRead(queues.loadAll(), 'queue streams');
    for (const l of streams) {
      names.add(l.queue);
      controls.forget(l.queue);
    }
    if (deps.readSide !== undefined) {
      try {
        const { queries } = await deps.readSide();
        for (const status of listedStatuses) {
          const page = await queries.listJobViews({ status, limit: viewsPerStatus });
          for (const v of page.jobs) names.add(v.queue);
        }
      } catch (error) {
        log.warn({ err: (error as Error).message }, 'listQueues: could not read the job lists; showing the other queues');
      }
    }
    const sorted = [...names]
      .filter((n) => queueNamePattern.test(n))
      .sort()
      .slice(0, maxListedQueues);
    const out: QueueInfo[] = [];
    for (const name of sorted) out.push(await status(name));
    return out;
  };

  /** The enqueue's result with `warnings` when its job will wait (a paused queue, no consumer); as it was otherwise. */
  const annotate = async <T extends Enqueued<R>, R>(enqueued: T): Promise<T> => {
    const { job } = enqueued;
    const waits = job.status === 'initial' || job.status === 'awaiting' || (job.status === 'errored' && job.retryAt !== undefined);
    if (!waits) return enqueued;
    const warning = await warningFor(job.queue, enqueued.jobId);
    return warning === undefined ? enqueued : { ...enqueued, warnings: [...(enqueued.warnings ?? []), warning] };
  };

  return {
    annotate,
    pause: (queue: string, options?: QueueActionOptions) => change(queue, true, options),
    resume: (queue: string, options?: QueueActionOptions) => change(queue, false, options),
    list,
    status,
    warningFor,
  };
};
export type Queues = ReturnType<typeof makeQueues>;
