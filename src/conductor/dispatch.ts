import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import * as E from 'fp-ts/lib/Either.js';
import { PathReporter } from 'io-ts/lib/PathReporter.js';
import {
  cancelRequestedFor,
  isoDate,
  isJobView,
  planRetry,
  resetToInitialState,
  setToCancelled,
  setToErrored,
  type JobView,
} from '../job/index.js';
import type { CancelWatch } from './cancelRunning.js';
import { isStoreConfigurationError } from '../errors/index.js';
import {
  Dispositions,
  maxKeepDeliveryMs,
  type Broker,
  type BrokerUnavailable,
  type Delivery,
  type Disposition,
  type Headers,
} from '../broker/broker.js';
import { WorkMessage, workQueueName } from '../broker/workMessage.js';
import { viewOf, type LoadedJob, type TransitionError } from '../jobStore/index.js';
import { lazyChild, type Logger } from '../log/index.js';
import { passRateLimits, type RateLimits } from './rateLimits.js';
import { deliveryContext, runInContext, traceLogFields, withActiveTraceHeaders } from '../tracing/index.js';
import { startAttemptTrace } from './tracing.js';
import {
  EngineErrors,
  executeAttempt,
  recordCannotStart,
  type AttemptOutcome,
  type ExecuteDeps,
  type WorkerRegistry,
} from '../worker/index.js';

/** What the conductor needs: the job streams, the broker, the workers, a clock. */
export interface ConductorDeps extends ExecuteDeps {
  /** Told of each attempt recorded as `WorkerLost` (the Processes page notes it on the gone process's stream, docs/processes.md). */
  readonly onWorkerLost?: (workerId: string, lost: { readonly jobId: string; readonly attempt: number }) => void;
  readonly broker: Broker;
  readonly registry: WorkerRegistry;
  readonly log: Logger;
  /**
   * Waits before a delivery the store or broker could not settle is decided
   * again; resolves false once the engine stops (the delivery is then handed
   * back). Default: `backoff`.
   */
  readonly pause?: (tries: number) => Promise<boolean>;
  /** Longest a delivery is kept that way before it is handed back after all. Default: `maxKeepDeliveryMs` (10 minutes). */
  readonly maxKeepMs?: number;
  /**
   * Takes on a released continuation whose first dispatch could not be
   * published, to publish it again with backoff, in the background, until the
   * broker takes it or the engine stops (`makeDispatchRetries`). Answers false
   * when it cannot (the engine is not started): the failure is then only
   * logged, and the next engine start's sweep dispatches it.
   */
  readonly retryDispatch?: (view: JobView) => boolean;
  /**
   * Whether the engine still starts attempts (false once it stops): a
   * delivery waiting for a slot of its worker is then handed back. Default:
   * always.
   */
  readonly accepting?: () => boolean;
  /** Longest a delivery waits for a slot of its worker before it is deferred. Default: `maxSlotWaitMs` (30 s). */
  readonly slotWaitMs?: number;
  /** The attempts running here, for cancel requests to abort (src/conductor/cancelRunning.ts). Absent: none is aborted here. */
  readonly cancels?: CancelWatch;
  /**
   * The rate limits of the workers and queues (docs/rate-limits.md): an attempt holds a permit of each before its
   * `JobStarted`. Absent when nothing is limited: then nothing is read or appended for limits.
   */
  readonly rateLimits?: RateLimits;
  /** Longest a delivery waits for a rate-limit permit (holding its slot) before it is deferred. Default: 5 s. */
  readonly permitWaitMs?: number;
  /** Whether a delivery may start its attempt now: false hands it back unstarted (its queue was paused, docs/queues.md). Default: always. */
  readonly admits?: () => boolean;
}

/**
 * Publishes the dispatch of `attempt` of a job to its work queue, after
 * `delayMs`. Every dispatch gets a new message id: it becomes the
 * `backgroundJobId` of the attempt it starts.
 */
export const publishAttempt = async (
  deps: Pick<ConductorDeps, 'broker'>,
  view: Pick<JobView, 'jobId' | 'queue' | 'priority'>,
  attempt: number,
  delayMs = 0,
  headers?: Headers,
): Promise<E.Either<BrokerUnavailable, void>> =>
  deps.broker.publish(workQueueName(view.queue), {
    body: Buffer.from(JSON.stringify({ jobId: view.jobId, attempt })),
    messageId: randomUUID(),
    delayMs: Math.max(0, Math.ceil(delayMs)),
    contentType: 'application/json',
    ...(view.priority !== undefined ? { priority: view.priority } : {}),
    ...withHeaders(withActiveTraceHeaders(headers)),
  })();

// The dispatch carries the active trace context (the enqueue's, or the delivery's being handled) as `traceparent`.
const withHeaders = (headers: Headers | undefined): { headers?: Headers } => (headers !== undefined ? { headers } : {});

/** An attempt counted in: its `signal` is aborted by the next `abortAll`; `leave` counts it out (once). */
export interface Entered {
  readonly signal: AbortSignal;
  leave(): void;
}

/**
 * The attempts this process is running, so that stop and a lost connection
 * can abort them, and the slots of each worker, which hold its `concurrency`
 * per process whatever shares its queue. They share one signal, which
 * `abortAll` aborts and then replaces for the attempts that start later: one
 * AbortController per engine, not one per job. A slot is left when the action
 * really returns, not when its attempt ended: an action that ignores its
 * signal after a timeout keeps its slot until it returns.
 */
export interface RunningAttempts {
  /** Counts an attempt in, outside any worker's slots. */
  enter(): Entered;
  /** Takes a slot of `worker` (of `limit`) at once: undefined when all are taken, or when others wait for one. */
  tryEnter(worker: string, limit: number): Entered | undefined;
  /**
   * Waits for a slot of `worker`, after those already waiting, for at most `waitMs`: the slot, or why the wait
   * ended without one (`waited`: the time ran out; else what `giveUp` answered, asked every `slotCheckMs`).
   */
  waitToEnter(worker: string, limit: number, waitMs: number, giveUp: () => string | undefined): Promise<Entered | WaitEnded>;
  /** Deliveries waiting for a slot of `worker`. */
  waiting(worker: string): number;
  /** Slots of `worker` taken: attempts running, and actions of ended attempts that have not returned. */
  inUse(worker: string): number;
  abortAll(reason: string): void;
  readonly size: number;
}

/** Why a wait for a slot ended without one: the time ran out (`waited`), or what `giveUp` answered. */
export interface WaitEnded {
  readonly ended: string;
}

/** How often the deliveries waiting for a slot are checked (their deadline, `giveUp`). */
export const slotCheckMs = 100;

/** A delivery waiting for a slot: resolved with the slot, or with why it stopped waiting. */
interface Waiter {
  readonly until: number;
  readonly giveUp: () => string | undefined;
  readonly resolve: (r: Entered | WaitEnded) => void;
}

interface Slots {
  taken: number;
  waiters: Waiter[];
}

export const makeRunningAttempts = (): RunningAttempts => {
  const fresh = () => {
    const c = new AbortController();
    // Every running attempt listens to it: as many listeners as the concurrency, not a leak.
    setMaxListeners(0, c.signal);
    return c;
  };
  let controller = fresh();
  let size = 0;
  const slots = new Map<string, Slots>();
  const slotsOf = (worker: string): Slots => {
    let s = slots.get(worker);
    if (s === undefined) {
      s = { taken: 0, waiters: [] };
      slots.set(worker, s);
    }
    return s;
  };
  const enter = (onLeave?: () => void): Entered => {
    size += 1;
    let left = false;
    return {
      signal: controller.signal,
      leave() {
        if (left) return;
        left = true;
        size -= 1;
        onLeave?.();
      },
    };
  };
  /** A slot of `s`, taken: leaving it hands it to the first waiter, or frees it. */
  const enterSlot = (s: Slots): Entered =>
    enter(() => {
      const next = s.waiters.shift();
      if (next !== undefined) next.resolve(enterSlot(s));
      else s.taken -= 1;
    });
  // One timer for every waiting delivery (not a timer, an AbortController and listeners each): it runs
  // while any waits, and ends the waits whose time ran out or whose `giveUp` answers.
  let ticker: NodeJS.Timeout | undefined;
  const tick = (): void => {
    const now = Date.now();
    let waitingCount = 0;
    for (const s of slots.values()) {
      if (s.waiters.length === 0) continue;
      const kept: Waiter[] = [];
      for (const w of s.waiters) {
        const why = w.giveUp() ?? (now >= w.until ? 'waited' : undefined);
        if (why === undefined) kept.push(w);
        else w.resolve({ ended: why });
      }
      s.waiters = kept;
      waitingCount += kept.length;
    }
    if (waitingCount === 0 && ticker !== undefined) {
      clearInterval(ticker);
      ticker = undefined;
    }
  };
  return {
    enter: () => enter(),
    tryEnter(worker, limit) {
      const s = slotsOf(worker);
      if (s.taken >= limit || s.waiters.length > 0) return undefined;
      s.taken += 1;
      return enterSlot(s);
    },
    waitToEnter(worker, limit, waitMs, giveUp) {
      const now = this.tryEnter(worker, limit);
      if (now !== undefined) return Promise.resolve(now);
      const why = giveUp();
      if (why !== undefined) return Promise.resolve({ ended: why });
      const s = slotsOf(worker);
      return new Promise((resolve) => {
        s.waiters.push({ until: Date.now() + waitMs, giveUp, resolve });
        ticker ??= setInterval(tick, Math.min(slotCheckMs, Math.max(1, waitMs)));
      });
    },
    waiting: (worker) => slots.get(worker)?.waiters.length ?? 0,
    inUse: (worker) => slots.get(worker)?.taken ?? 0,
    abortAll: (reason) => {
      const aborted = controller;
      controller = fresh();
      aborted.abort(reason);
    },
    get size() {
      return size;
    },
  };
};

/**
 * Longest a delivery waits, unacked, for a slot of its worker before it is
 * deferred: short beside RabbitMQ's `consumer_timeout` (30 minutes by
 * default), since the attempt it then starts is unacked as long as it runs.
 */
const maxSlotWaitMs = 30_000;

/** The header counting how many times a dispatch was deferred for want of a slot (each deferral waits longer). */
const deferralsHeader = 'x-jobtrail-deferrals';

/**
 * How long a dispatch deferred `deferrals` times before waits out of the
 * queue: 200 ms doubling up to 2 s, times 0.5 to 1.5 (`random` in [0, 1)),
 * so that dispatches deferred together do not all come back together.
 */
const deferDelayMs = (deferrals: number, random: number): number =>
  Math.round(Math.min(2_000, 200 * 2 ** Math.min(Math.max(0, deferrals), 4)) * (0.5 + random));

export const maxConflictRounds = 20;

/**
 * What a decision returns when the store or the broker did not answer: the
 * handler keeps the delivery and decides again after a pause, rather than
 * handing it back. A message handed back counts as a failed delivery on a
 * quorum queue, and RabbitMQ 4.0 to 4.2 drop one handed back 20 times (their
 * default `delivery-limit`), so an outage of the store lasting a few minutes
 * would have lost dispatches.
 */
const unavailable = 'unavailable';

/**
 * Handles one delivery of `{jobId, attempt}`: reads the job,
 * decides from its state alone what the delivery means, runs the attempt when
 * it is due, and settles the delivery only once what it decided is recorded.
 */
export const makeWorkHandler = (deps: ConductorDeps, running: RunningAttempts) => {
  const handle = makeHandler(deps, running);
  // A defect (an event that no longer decodes, a bug) would bring the same message
  // back forever: dead-letter it with the reason, where people can see it.
  return async (delivery: Delivery): Promise<Disposition> => {
    try {
      // In the trace context the dispatch carries (a fresh root without one): what it publishes again carries it on.
      return await runInContext(deliveryContext(delivery.headers), () => handle(delivery));
    } catch (error) {
      if (isStoreConfigurationError(error)) {
        // Not the message's fault: every message would fail alike until the store's
        // configuration is fixed. Keep it (never dead-letter work for this), slowly.
        deps.log.error({ err: error.message, messageId: delivery.messageId }, 'the store refuses this process; the delivery is kept');
        await (deps.pause ?? deps.backoff)(8);
        return Dispositions.requeue;
      }
      deps.log.error({ err: (error as Error)?.stack ?? String(error), messageId: delivery.messageId }, 'work handler failed');
      return Dispositions.deadLetter(`the work message could not be handled: ${(error as Error)?.message ?? String(error)}`);
    }
  };
};

const makeHandler =
  (deps: ConductorDeps, running: RunningAttempts) =>
  async (delivery: Delivery): Promise<Disposition> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(delivery.body.toString('utf8'));
    } catch {
      return Dispositions.deadLetter(`the work message is not JSON: ${delivery.body.subarray(0, 200).toString('utf8')}`);
    }
    const message = WorkMessage.decode(parsed);
    if (E.isLeft(message)) return Dispositions.deadLetter(`invalid work message: ${PathReporter.report(message).join('; ')}`);
    const { jobId, attempt: k } = message.right;
    const log = lazyChild(deps.log, () => ({ jobId, attempt: k, messageId: delivery.messageId, ...traceLogFields(delivery.headers) }));
    const backgroundJobId = delivery.messageId ?? randomUUID();
    const pause = deps.pause ?? deps.backoff;
    let keptSince: number | undefined;
    // The slot this delivery took for its attempt, kept across a conflict (deciding again), left when the handler returns.
    const held: HeldSlot = { slot: undefined };
    try {
      for (let tries = 1; ; tries++) {
        const decided = await decide(deps, running, delivery, jobId, k, backgroundJobId, log, tries > 1, held);
        if (decided !== unavailable) return decided;
        held.slot?.leave();
        held.slot = undefined;
        keptSince ??= deps.now().getTime();
        if (deps.now().getTime() - keptSince >= (deps.maxKeepMs ?? maxKeepDeliveryMs)) {
          log.warn({ keptMs: deps.now().getTime() - keptSince }, 'the store or broker is still unavailable; handing the delivery back');
          return Dispositions.requeue;
        }
        // While it is kept, its channel may close: RabbitMQ then gives it to another consumer.
        if (delivery.lost?.aborted || !(await pause(tries)) || delivery.lost?.aborted) return Dispositions.requeue;
      }
    } finally {
      held.slot?.leave();
    }
  };

/** A slot a delivery holds while it decides (`runAttempt` takes it; an action still running after its attempt ended keeps it). */
interface HeldSlot {
  slot: Entered | undefined;
}

/** What one delivery of attempt `k` of `jobId` means now, from the job's stream (docs/architecture.md#what-a-delivery-means). */
const decide = async (
  deps: ConductorDeps,
  running: RunningAttempts,
  delivery: Delivery,
  jobId: string,
  k: number,
  backgroundJobId: string,
  log: Logger,
  /** Decided again after a pause (`unavailable` before). */
  again: boolean,
  held: HeldSlot,
): Promise<Disposition | typeof unavailable> => {
  for (let round = 1; round <= maxConflictRounds; round++) {
    // The hot path: this process enqueued or last moved the job, and attempt k is
    // due from `initial`. The start is an append at the cached revision, so a
    // stale cache is caught by the conflict. Every other decision reads the stream.
    const cached = round === 1 ? deps.jobs.cached(jobId) : undefined;
    const fresh =
      cached !== undefined && cached.state.status === 'initial' && cached.state.attempts === k - 1 && cached.state.runAt === undefined;
    const loaded = fresh ? E.right(cached) : await deps.jobs.load(jobId)();
    if (E.isLeft(loaded)) {
      // Nothing was recorded: never ack it; decide again once the store answers.
      log.warn({ err: loaded.left.message }, 'store unavailable while reading the job; the delivery is kept and retried');
      return unavailable;
    }
    const job = loaded.right;
    const s = job.state;
    if (!isJobView(s)) return Dispositions.deadLetter(`job "${jobId}" has no stream (job-${jobId} does not exist)`);

    if (s.status === 'completed' || s.status === 'cancelled') return Dispositions.ack;
    // A continuation still waiting for its parents: its release dispatches it (a stray dispatch is stale).
    if (s.status === 'awaiting') return Dispositions.ack;
    if (s.status === 'errored' && s.retryAt === undefined) return Dispositions.ack;

    if (s.status === 'errored') {
      if (s.attempts === k) {
        // JobErrored of attempt k was recorded but the message was not acked before
        // a crash: make sure attempt k+1 is on its way (a second copy is a harmless duplicate).
        const r = await publishAttempt(deps, s, k + 1, Date.parse(s.retryAt!) - deps.now().getTime());
        return E.isRight(r) ? Dispositions.ack : unavailable;
      }
      if (s.attempts !== k - 1) return Dispositions.ack;
      const wait = Date.parse(s.retryAt!) - deps.now().getTime();
      if (wait > 0) {
        const r = await publishAttempt(deps, s, k, wait);
        return E.isRight(r) ? Dispositions.ack : unavailable;
      }
      const reset = await deps.jobs.transition(job, (st) => resetToInitialState(st, { at: isoDate(deps.now()), reason: 'retry' }), {
        correlationId: jobId,
        causationId: backgroundJobId,
      })();
      if (E.isLeft(reset)) {
        if (reset.left._tag === 'StoreUnavailable') return unavailable;
        continue;
      }
      const started = await runAttempt(deps, running, reset.right, backgroundJobId, delivery, log, held);
      if (started === 'conflict') continue;
      return started;
    }

    if (s.status === 'in_progress') {
      // RabbitMQ redelivers only after the holder's channel closed: the process
      // running attempt k is gone. So is the attempt this very delivery started
      // if it is deciding again: that start was reported unavailable, yet
      // recorded (a store may record an append it could not confirm), and its
      // action never ran. Record it, then treat it as any failure.
      const holderGone = delivery.redelivered || (again && s.backgroundJobId === backgroundJobId);
      if (s.attempts !== k || !holderGone) return Dispositions.ack;
      const lost = await recordLost(deps, job, s, backgroundJobId);
      if (lost === 'conflict') continue;
      return lost;
    }

    // initial
    if (s.attempts !== k - 1) return Dispositions.ack;
    if (s.attempts === 0 && s.runAt !== undefined) {
      const wait = Date.parse(s.runAt) - deps.now().getTime();
      if (wait > 0) {
        const r = await publishAttempt(deps, s, k, wait);
        return E.isRight(r) ? Dispositions.ack : unavailable;
      }
    }
    const started = await runAttempt(deps, running, job, backgroundJobId, delivery, log, held);
    if (started === 'conflict') continue;
    return started;
  }
  log.warn('the job kept moving under this delivery; handing it back');
  return Dispositions.requeue;
};

/**
 * Records attempt `s.attempts` as `WorkerLost` (the process running it is
 * gone), with a retry when attempts remain. Returns the retry time, or the
 * append's error.
 */
export const recordWorkerLost = async (
  deps: ConductorDeps,
  job: LoadedJob,
  s: JobView,
  causationId: string,
  message: string,
): Promise<E.Either<TransitionError, string | undefined>> => {
  const now = deps.now();
  const retryAt = planRetry(s, s.attempts, {
    retryable: true,
    now,
    random: deps.random(),
    delayMs: (n, r) => deps.registry.get(s.workerName)?.retryDelay(n, r) ?? 0,
    interrupted: true,
  });
  // An attempt whose cancel was requested ends cancelled, not lost: it is not retried.
  const cancelled = cancelRequestedFor(s, s.attempts);
  const r = await deps.jobs.transition(
    job,
    (st) =>
      cancelled
        ? setToCancelled(st, { attempt: s.attempts, at: isoDate(now) })
        : setToErrored(st, {
            attempt: s.attempts,
            erroredAt: isoDate(now),
            error: { name: EngineErrors.WorkerLost, message },
            interrupted: true,
            ...(s.startedAt !== undefined ? { durationMs: Math.max(0, now.getTime() - Date.parse(s.startedAt)) } : {}),
            ...(retryAt !== undefined ? { retryAt } : {}),
          }),
    { correlationId: job.jobId, causationId },
  )();
  if (E.isRight(r) && !cancelled) deps.observer?.lost?.(s);
  if (E.isRight(r) && s.workerId !== undefined) deps.onWorkerLost?.(s.workerId, { jobId: s.jobId, attempt: s.attempts });
  return E.isLeft(r) ? r : E.right(cancelled ? undefined : retryAt);
};

const recordLost = async (
  deps: ConductorDeps,
  job: LoadedJob,
  s: JobView,
  causationId: string,
): Promise<Disposition | 'conflict' | typeof unavailable> => {
  const r = await recordWorkerLost(
    deps,
    job,
    s,
    causationId,
    `attempt ${s.attempts} was lost: its delivery came back after the process running it (${s.workerId ?? 'unknown'}) went away`,
  );
  if (E.isLeft(r)) return r.left._tag === 'StoreUnavailable' ? unavailable : 'conflict';
  return settleErrored(deps, s, s.attempts, r.right);
};

/** Publish before ack: the next attempt is on its way before this delivery is let go. */
const settleErrored = async (
  deps: ConductorDeps,
  view: Pick<JobView, 'jobId' | 'queue' | 'priority'>,
  attempt: number,
  retryAt: string | undefined,
): Promise<Disposition> => {
  if (retryAt === undefined) return Dispositions.ack;
  for (let tries = 1; ; tries++) {
    const r = await publishAttempt(deps, view, attempt + 1, Date.parse(retryAt) - deps.now().getTime());
    if (E.isRight(r)) return Dispositions.ack;
    // Without the ack the message comes back, finds attempt k errored with a retry
    // scheduled, and publishes the retry then; keep trying here first.
    if (!(await deps.backoff(tries))) return Dispositions.requeue;
  }
};

const runAttempt = async (
  deps: ConductorDeps,
  running: RunningAttempts,
  job: LoadedJob,
  backgroundJobId: string,
  delivery: Delivery,
  log: Logger,
  held: HeldSlot,
): Promise<Disposition | 'conflict' | typeof unavailable> => {
  const s = viewOf(job);
  const lost = delivery.lost;
  const worker = deps.registry.get(s.workerName);
  if (!worker) {
    const r = await recordCannotStart(
      deps,
      job,
      { name: EngineErrors.UnknownWorker, message: deps.registry.describeUnknown(s.workerName) },
      backgroundJobId,
    );
    if (E.isLeft(r)) return r.left._tag === 'StoreUnavailable' ? unavailable : 'conflict';
    log.warn({ workerName: s.workerName }, 'unknown worker: recorded as errored');
    return Dispositions.ack;
  }
  // The delivery is already gone (its channel closed while the job was read): do not start
  // an attempt whose end could not be settled; the redelivery starts it instead.
  if (lost?.aborted) return Dispositions.requeue;
  // Its queue was paused while the job was read: the delivery goes back unstarted, to wait in the queue.
  if (deps.admits?.() === false) return Dispositions.requeue;
  // The hot path takes a free slot without a wait (no promise).
  held.slot ??= running.tryEnter(worker.name, worker.concurrency);
  if (held.slot === undefined) {
    const taken = await takeSlot(deps, running, worker, s, delivery, log);
    if (taken === 'deferred') return Dispositions.ack;
    if (taken === 'handBack') return Dispositions.requeue;
    if (taken === unavailable) return unavailable;
    held.slot = taken;
  }
  // Rate limits (docs/rate-limits.md): a permit of each limit, taken while the slot is held, so that the start follows it at once.
  const gates = deps.rateLimits?.gatesFor(worker.name, s.queue);
  if (gates !== undefined && gates.length > 0) {
    const passed = await passRateLimits(
      gates,
      s.jobId,
      s.attempts + 1,
      delivery,
      deps.accepting,
      deps.permitWaitMs ?? 5_000,
      deps.now,
      log,
    );
    if (passed !== 'granted') {
      held.slot.leave();
      held.slot = undefined;
      if (passed === 'handBack') return Dispositions.requeue;
      if (passed === 'unavailable') return unavailable;
      const deferrals = Number(delivery.headers[deferralsHeader] ?? 0) || 0;
      const delayMs = Math.max(passed.deferMs, deferDelayMs(deferrals, deps.random()));
      const r = await publishAttempt(deps, s, s.attempts + 1, delayMs, { [deferralsHeader]: deferrals + 1 });
      if (E.isLeft(r)) return unavailable;
      log.debug({ workerName: worker.name, delayMs, why: passed.why }, 'no rate-limit permit now: dispatch deferred');
      return Dispositions.ack;
    }
  }
  const attempt = held.slot;
  // The attempt's span (docs/tracing.md); its log lines carry the worker and the trace.
  const traced = startAttemptTrace(job, s, worker.name, backgroundJobId, delivery, deps.log);
  log = traced.log;
  // Set while the action runs: it may outlive its attempt (a timeout, an abort it ignores).
  let actionReturned: Promise<void> | undefined;
  let actionRunning = false;
  let outcome: AttemptOutcome | undefined;
  try {
    // A lost delivery (channel closed, stop gave up) stops the action and records
    // nothing; whoever gets the redelivery records WorkerLost. This engine's own
    // execute, not the worker's: a worker made with another copy of jobtrail
    // would bring that copy's, written against its own engine.
    outcome = await executeAttempt(worker, deps, {
      job: { ...job, state: s },
      backgroundJobId,
      signal: attempt.signal,
      ...(deps.cancels !== undefined ? { watchCancel: deps.cancels.register } : {}),
      ...(lost !== undefined ? { lost } : {}),
      ...traced.input,
      onAction: (returned) => {
        actionRunning = true;
        actionReturned = returned.then(() => void (actionRunning = false));
      },
    });
  } finally {
    traced.end(outcome);
    if (outcome?._tag !== 'Conflict') {
      // The slot goes with the action, not with the attempt: the worker's concurrency counts what really runs.
      held.slot = undefined;
      if (actionRunning && actionReturned !== undefined) keepSlotUntilReturned(log, worker, running, attempt, actionReturned, outcome);
      else attempt.leave();
    }
  }
  switch (outcome._tag) {
    case 'Completed':
    case 'Cancelled':
      return Dispositions.ack;
    case 'Errored':
      return settleErrored(deps, s, outcome.attempt, outcome.retryAt);
    case 'Conflict':
      return 'conflict';
    case 'Unavailable':
      log.warn({ err: outcome.error.message }, 'store unavailable at start; the delivery is kept and retried');
      return unavailable;
    case 'Abandoned':
      // Not recorded here: leave the message unacked so its redelivery records
      // WorkerLost and retries. Requeue marks it redelivered for whoever takes it.
      log.warn({ reason: outcome.reason }, 'attempt abandoned');
      return Dispositions.requeue;
  }
};

/** Says that an ended attempt's action still runs, and leaves its slot when the action returns. */
const keepSlotUntilReturned = (
  log: Logger,
  worker: { readonly name: string; readonly concurrency: number; readonly timeoutMs: number | undefined },
  running: RunningAttempts,
  slot: Entered,
  returned: Promise<void>,
  outcome: AttemptOutcome | undefined,
): void => {
  const since = Date.now();
  const state = outcome?._tag === 'Errored' ? outcome.job.state : undefined;
  const recorded = state !== undefined && isJobView(state) ? `was recorded as ${state.lastError?.name ?? 'errored'}` : 'ended';
  log.warn(
    { workerName: worker.name, concurrency: worker.concurrency, timeoutMs: worker.timeoutMs, slotsInUse: running.inUse(worker.name) },
    `the attempt ${recorded} but its action ignores its signal and is still running: it keeps a slot of its worker until it returns`,
  );
  void returned.then(() => {
    slot.leave();
    log.warn({ workerName: worker.name, lateMs: Date.now() - since }, 'the action of an ended attempt returned; its slot is free again');
  });
};

/**
 * A slot of `worker` for this delivery, once `tryEnter` found none free: the
 * delivery waits for one, unacked, if fewer than `concurrency` deliveries of
 * the worker already wait, for at most `slotWaitMs`; else it is deferred
 * (docs/architecture.md#concurrency). `handBack` when the delivery was lost
 * or the engine stops while it waits.
 */
const takeSlot = async (
  deps: ConductorDeps,
  running: RunningAttempts,
  worker: { readonly name: string; readonly concurrency: number },
  s: JobView,
  delivery: Delivery,
  log: Logger,
): Promise<Entered | 'deferred' | 'handBack' | typeof unavailable> => {
  if (running.waiting(worker.name) < worker.concurrency) {
    const accepting = deps.accepting;
    const lost = delivery.lost;
    // Checked every `slotCheckMs` while it waits: a delivery lost or an engine stopping hands the delivery back.
    const giveUp = (): string | undefined => (lost?.aborted === true ? 'lost' : accepting?.() === false ? 'stopping' : undefined);
    const entered = await running.waitToEnter(worker.name, worker.concurrency, deps.slotWaitMs ?? maxSlotWaitMs, giveUp);
    if ('leave' in entered) {
      if (giveUp() === undefined) return entered;
      entered.leave();
      return 'handBack';
    }
    if (entered.ended !== 'waited') return 'handBack';
  }
  // Deferred, not handed back: a nack puts it back at the head of the queue, where this
  // consumer takes it again at once, and RabbitMQ 4.0 to 4.2 drop it after 20 returns.
  const deferrals = Number(delivery.headers[deferralsHeader] ?? 0) || 0;
  const r = await publishAttempt(deps, s, s.attempts + 1, deferDelayMs(deferrals, deps.random()), { [deferralsHeader]: deferrals + 1 });
  if (E.isLeft(r)) return unavailable;
  log.debug({ workerName: worker.name, deferrals: deferrals + 1 }, 'the worker has no slot free: dispatch deferred');
  return 'deferred';
};
