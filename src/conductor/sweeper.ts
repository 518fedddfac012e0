import * as E from 'fp-ts/lib/Either.js';
import type { ReadSide } from '../backends/index.js';
import type { EventStore } from '../eventStore/index.js';
import { isJobView, type JobStatus, type JobView } from '../job/index.js';
import { publishAttempt, recordWorkerLost, type ConductorDeps } from './dispatch.js';
import { isProcessGone } from './recovery.js';
import { makeProcessRetention, newProcessRecord, readProcessStream, type ProcessRecord } from '../processes/index.js';

// The periodic sweep of a started engine (issue 22): nothing stays stranded while some process runs.
// - A process heartbeat in the store (`process-<processId>`), so that other processes (other hosts too) can tell
//   that a process running attempts is gone.
// - A sweep every `intervalMs` (± jitter, so processes do not sweep in step) over the read side: attempts whose
//   process is gone are recorded as `WorkerLost` and retried; `initial` jobs and due retries that are overdue by
//   more than `graceMs` are dispatched again (a duplicate dispatch is harmless: the stream decides what it means).

// The process streams, their heartbeat and what they say live in src/processes/ (docs/processes.md).
export { processStreamName, ProcessEvents, startHeartbeat } from '../processes/index.js';
export type { Heartbeat } from '../processes/index.js';

export interface SweepOptions {
  /** Between two sweeps of this process, ± 20 % jitter; the first comes after 0.5–1.5 intervals. */
  readonly intervalMs: number;
  /** How long past its due time an `initial` job or a retry waits before the sweep dispatches it again. */
  readonly graceMs: number;
  /** Most job views looked at per status in one sweep; the next sweep goes on from there. */
  readonly maxViewsPerSweep: number;
  /** Heartbeats of processes that do not say theirs are read with this interval. */
  readonly heartbeatIntervalMs: number;
  /** How many heartbeat intervals without a sign of life make a process gone. */
  readonly missedHeartbeats: number;
  /** Whether a queue is paused (docs/queues.md): its `initial` jobs and due retries wait there, not stranded. */
  readonly isQueuePaused?: (queue: string) => boolean;
  /** The stream of a process stopped or gone longer than this is deleted by the sweeps (docs/processes.md); default 7 days. */
  readonly processRetentionMs?: number;
}

export const defaultSweepOptions: SweepOptions = {
  intervalMs: 15_000,
  graceMs: 60_000,
  maxViewsPerSweep: 500,
  heartbeatIntervalMs: 5_000,
  missedHeartbeats: 6,
};

type SweepDeps = ConductorDeps & { readonly store: EventStore };

// ---------------------------------------------------------------- liveness

/**
 * Judges whether the process that runs an attempt is gone: on this host by its pid (`isProcessGone`); elsewhere by
 * its heartbeats: it said it stopped, or no sign of life (heartbeat, the attempt's start or progress) for
 * `missedHeartbeats` of its intervals. A process that never wrote a heartbeat (an older version) is judged by its pid
 * only. Keeps what it read of each stream, so a sweep reads only new heartbeats.
 */
export const makeLiveness = (
  deps: Pick<SweepDeps, 'store' | 'processId' | 'now'>,
  options: Pick<SweepOptions, 'heartbeatIntervalMs' | 'missedHeartbeats'>,
) => {
  const seen = new Map<string, ProcessRecord>();
  const read = async (processId: string) => {
    const known = seen.get(processId) ?? newProcessRecord(processId, options.heartbeatIntervalMs);
    const r = await readProcessStream(deps.store, known);
    if (E.isLeft(r)) return undefined;
    seen.set(processId, known);
    return known;
  };
  return {
    /** Whether the process running `view`'s attempt is certainly gone. */
    isGone: async (view: Pick<JobView, 'workerId' | 'startedAt' | 'progress'>): Promise<boolean> => {
      if (isProcessGone(view.workerId, deps.processId)) return true;
      if (view.workerId === undefined || view.workerId === deps.processId) return false;
      const known = await read(view.workerId);
      if (known === undefined || known.lastSeenAt === undefined) return false;
      if (known.stopped) return true;
      const signs = [known.lastSeenAt, view.startedAt, view.progress?.at].map((t) => (typeof t === 'string' ? Date.parse(t) : (t ?? 0)));
      return deps.now().getTime() - Math.max(...signs) > options.missedHeartbeats * known.intervalMs;
    },
    /** What was read of a process's stream (the recovery note repeats its last sign of life). */
    record: (processId: string): ProcessRecord | undefined => seen.get(processId),
    /** Forgets processes that no attempt names any more. */
    keepOnly: (processIds: ReadonlySet<string>) => {
      for (const id of seen.keys()) if (!processIds.has(id)) seen.delete(id);
    },
  };
};

// ---------------------------------------------------------------- sweep

export interface SweepReport {
  /** Job views looked at. */
  readonly looked: number;
  /** `initial` jobs and due retries dispatched again. */
  readonly dispatched: number;
  /** Attempts of gone processes recorded as `WorkerLost` (and their retries dispatched). */
  readonly lost: number;
  readonly jobIds: readonly string[];
}

/** When an `initial` job became due: its enqueue, `runAt`, release or reset, whichever is latest. */
const dueAt = (v: JobView): number =>
  Math.max(...[v.enqueuedAt, v.runAt, v.released?.at, v.lastReset?.at].flatMap((t) => (t === undefined ? [] : [Date.parse(t)])));

export interface Sweeper {
  /** One sweep now (tests; the timer calls it too). Sweeps never overlap. */
  sweep(): Promise<SweepReport>;
  /** Stops the timer and waits for a running sweep. */
  stop(): Promise<void>;
}

const sweptStatuses: readonly JobStatus[] = ['in_progress', 'initial', 'errored'];

/**
 * Makes the sweeper of a started engine; with `intervalMs` > 0 it sweeps on a timer. Each sweep looks at up to
 * `maxViewsPerSweep` views of each of `in_progress`, `initial` and `errored` (the next sweep goes on where it left
 * off, and starts over at the end), decides from the job's own stream, and:
 * - `in_progress` whose process is gone: records `WorkerLost` and dispatches the retry;
 * - `initial` due more than `graceMs` ago, or `errored` with a `retryAt` more than `graceMs` ago: dispatches the
 *   next attempt. This process does not dispatch the same attempt again before twice the previous wait (a job that
 *   waits behind a long backlog gets a few duplicates, not one per sweep).
 */
export const makeSweeper = (deps: SweepDeps, readSide: () => Promise<ReadSide>, partial: Partial<SweepOptions> = {}): Sweeper => {
  const options = { ...defaultSweepOptions, ...partial };
  const liveness = makeLiveness(deps, options);
  // The process streams' retention (docs/processes.md), on every sweep: the reads are incremental.
  const processRetention = makeProcessRetention(deps, {
    missedHeartbeats: options.missedHeartbeats,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    isGoneHere: (id) => isProcessGone(id, deps.processId),
    ...(options.processRetentionMs !== undefined ? { retentionMs: options.processRetentionMs } : {}),
  });
  const cursors = new Map<JobStatus, string | undefined>();
  /** `jobId#attempt` → when this process may dispatch it again, and how long it waited last. */
  const redispatched = new Map<string, { notBefore: number; waitMs: number }>();
  const mayDispatch = (key: string, now: number): boolean => {
    const r = redispatched.get(key);
    if (r !== undefined && now < r.notBefore) return false;
    const waitMs = Math.min(30 * 60_000, r === undefined ? options.graceMs : r.waitMs * 2);
    redispatched.delete(key);
    redispatched.set(key, { notBefore: now + waitMs, waitMs });
    // Bounded: the oldest entries go first (a Map keeps insertion order).
    while (redispatched.size > 10_000) redispatched.delete(redispatched.keys().next().value!);
    return true;
  };

  const sweepOnce = async (): Promise<SweepReport> => {
    const { queries } = await readSide();
    let looked = 0;
    let dispatched = 0;
    let lost = 0;
    const jobIds: string[] = [];
    const runningOn = new Set<string>();
    for (const status of sweptStatuses) {
      let left = options.maxViewsPerSweep;
      let after = cursors.get(status);
      while (left > 0) {
        const page = await queries.listJobViews({ status, limit: Math.min(left, 1000), ...(after !== undefined ? { after } : {}) });
        left -= page.jobs.length;
        looked += page.jobs.length;
        for (const v of page.jobs) {
          const outcome = await sweepJob(v, runningOn);
          if (outcome === 'dispatched') dispatched++;
          if (outcome === 'lost') lost++;
          if (outcome !== undefined) jobIds.push(v.jobId);
        }
        after = page.next;
        if (after === undefined) break;
      }
      cursors.set(status, after);
    }
    if (cursors.get('in_progress') === undefined) liveness.keepOnly(runningOn);
    try {
      await processRetention.sweep();
    } catch (error) {
      deps.log.warn({ err: (error as Error).message }, 'the retention of process streams failed; the next sweep tries again');
    }
    return { looked, dispatched, lost, jobIds };
  };

  const sweepJob = async (v: JobView, runningOn: Set<string>): Promise<'dispatched' | 'lost' | undefined> => {
    const now = deps.now().getTime();
    if (v.status === 'in_progress') {
      if (v.workerId !== undefined) runningOn.add(v.workerId);
      if (!(await liveness.isGone(v))) return undefined;
    } else if (v.status === 'initial') {
      if (now - dueAt(v) <= options.graceMs) return undefined;
    } else if (v.status === 'errored') {
      if (v.retryAt === undefined || now - Date.parse(v.retryAt) <= options.graceMs) return undefined;
    } else return undefined;
    // A job waiting in a paused queue waits there by decision: dispatching it again would only pile up copies.
    if (v.status !== 'in_progress' && options.isQueuePaused?.(v.queue) === true) return undefined;
    // The view may lag: decide from the stream, and only on the state the view showed.
    const loaded = await deps.jobs.load(v.jobId)();
    if (E.isLeft(loaded)) {
      deps.log.warn({ jobId: v.jobId, err: loaded.left.message }, 'the sweep could not read a job');
      return undefined;
    }
    const s = loaded.right.state;
    if (!isJobView(s) || s.status !== v.status || s.attempts !== v.attempts) return undefined;
    if (s.status === 'in_progress') {
      if (s.workerId !== v.workerId) return undefined;
      const r = await recordWorkerLost(
        deps,
        loaded.right,
        s,
        `sweep:${deps.processId}`,
        `attempt ${s.attempts} was lost: the process running it (${s.workerId ?? 'unknown'}) is gone; found by the sweep of ${deps.processId}`,
      );
      if (E.isLeft(r)) return undefined; // moved on meanwhile (a conflict), or the store is down: the next sweep sees
      if (r.right !== undefined) await dispatch(s, Date.parse(r.right) - deps.now().getTime());
      deps.log.info(
        { jobId: s.jobId, attempt: s.attempts, workerId: s.workerId },
        'sweep: attempt of a gone process recorded as WorkerLost',
      );
      return 'lost';
    }
    if (!mayDispatch(`${s.jobId}#${s.attempts}`, now)) return undefined;
    if (!(await dispatch(s, 0))) return undefined;
    deps.log.info({ jobId: s.jobId, status: s.status, attempt: s.attempts + 1 }, 'sweep: dispatched an overdue job again');
    return 'dispatched';
  };

  const dispatch = async (s: JobView, delayMs: number): Promise<boolean> => {
    const r = await publishAttempt(deps, s, s.attempts + 1, delayMs);
    if (E.isLeft(r)) deps.log.warn({ jobId: s.jobId, err: r.left.message }, 'the sweep could not dispatch a job');
    return E.isRight(r);
  };

  let running: Promise<SweepReport> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const sweep = (): Promise<SweepReport> =>
    (running ??= sweepOnce().finally(() => {
      running = undefined;
    }));
  const schedule = (factor: number) => {
    if (stopped || options.intervalMs <= 0) return;
    timer = setTimeout(async () => {
      timer = undefined;
      try {
        const report = await sweep();
        if (report.dispatched + report.lost > 0)
          deps.log.info({ looked: report.looked, dispatched: report.dispatched, lost: report.lost }, 'sweep done');
      } catch (error) {
        deps.log.warn({ err: (error as Error).message }, 'the sweep failed; the next one tries again');
      }
      schedule(0.8 + 0.4 * deps.random());
    }, options.intervalMs * factor);
    timer.unref();
  };
  schedule(0.5 + deps.random());
  return {
    sweep,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
};
