import { hostname } from 'node:os';
import * as E from 'fp-ts/lib/Either.js';
import type { ReadSide } from '../backends/index.js';
import { BrokerUnavailableError, StoreUnavailableError } from '../errors/index.js';
import type { EventStore } from '../eventStore/index.js';
import { isJobView, jobIdOfStream, JobStatuses, jobStreamPrefix, type JobStatus, type JobView } from '../job/index.js';
import { ProjectionNames } from '../projections/index.js';
import { storeRead } from '../jobStore/index.js';
import { publishAttempt, recordWorkerLost, type ConductorDeps } from './dispatch.js';
import { jobViewPages } from './listJobs.js';

/** `host:pid:random`: who runs an attempt, recorded in `JobStarted`. */
export const makeProcessId = (random: string): string => `${hostname()}:${process.pid}:${random}`;

/**
 * The engines open in this very process (tests, an app running two engines):
 * another engine of the same pid is alive while it is open, not an earlier
 * life of the pid whose attempts were lost.
 */
const openHere = new Set<string>();
/** Marks an engine of this process open until the returned function is called. */
export const holdProcessId = (processId: string): (() => void) => {
  openHere.add(processId);
  return () => void openHere.delete(processId);
};

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Whether the process named by a process id (recorded as `workerId` in `JobStarted`) is certainly gone: it ran on this
 * host and its pid is not alive, or it is an earlier life of this very pid (no engine open here has that id).
 * A worker on another host cannot be judged from here.
 */
export const isProcessGone = (processId: string | undefined, self: string): boolean => {
  if (processId === undefined) return true;
  const [host, pidText] = processId.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid)) return false;
  if (pid === process.pid) return processId !== self && !openHere.has(processId);
  return !isAlive(pid);
};

export interface RecoveryReport {
  readonly dispatched: number;
  readonly lost: number;
  readonly skipped: number;
  /** The jobs recovery put back on their way (dispatched, or recorded lost and retried). */
  readonly jobIds: readonly string[];
}

/**
 * Start-up recovery for a broker that keeps nothing across restarts (the
 * in-process one): for every job that is not final, puts back what a crash
 * lost. `initial` and `errored` with a retry: the next attempt is dispatched
 * (a duplicate dispatch is harmless). `in_progress` whose process is gone:
 * recorded as `WorkerLost` and retried.
 */
export const recoverJobs = async (deps: ConductorDeps, jobIds: Iterable<string>): Promise<RecoveryReport> => {
  let dispatched = 0;
  let lost = 0;
  let skipped = 0;
  const recovered: string[] = [];
  for (const jobId of jobIds) {
    for (let round = 0; round < 5; round++) {
      const loaded = await storeRead(deps.jobs.load(jobId), `recovery could not read job "${jobId}"`);
      const s = loaded.state;
      if (!isJobView(s)) break;
      if (s.status === 'initial') {
        const delay = s.attempts === 0 && s.runAt !== undefined ? Date.parse(s.runAt) - deps.now().getTime() : 0;
        await mustPublish(deps, s, s.attempts + 1, delay);
        dispatched++;
        recovered.push(jobId);
        break;
      }
      if (s.status === 'errored' && s.retryAt !== undefined) {
        await mustPublish(deps, s, s.attempts + 1, Date.parse(s.retryAt) - deps.now().getTime());
        dispatched++;
        recovered.push(jobId);
        break;
      }
      if (s.status !== 'in_progress' || !isProcessGone(s.workerId, deps.processId)) {
        skipped++;
        break;
      }
      const r = await recordWorkerLost(
        deps,
        loaded,
        s,
        `recovery:${deps.processId}`,
        `attempt ${s.attempts} was lost: the process running it (${s.workerId ?? 'unknown'}) is gone; found at start-up by ${deps.processId}`,
      );
      if (E.isLeft(r)) {
        if (r.left._tag === 'StoreUnavailable')
          throw new StoreUnavailableError(`recovery could not record job "${jobId}": ${r.left.message}`);
        continue;
      }
      const retryAt = r.right;
      lost++;
      recovered.push(jobId);
      if (retryAt !== undefined) await mustPublish(deps, s, s.attempts + 1, Date.parse(retryAt) - deps.now().getTime());
      break;
    }
  }
  return { dispatched, lost, skipped, jobIds: recovered };
};

/** The jobs engine start looks at: `outstanding` for `recoverJobs`, `continuations` for `sweepContinuations`. */
export interface StartUpJobIds {
  /**
   * With `recover`: every job the job-view projection holds as `initial`,
   * `in_progress` or `errored`; else empty.
   */
  readonly outstanding: readonly string[];
  /**
   * Every `awaiting` job; without `recover`, every released continuation that
   * has not started too (recovery dispatches those as `initial` otherwise).
   */
  readonly continuations: readonly string[];
}

/**
 * Lists what engine start looks at in one pass over the read side: each status
 * listed once, and, where the projections run in this process, the store read
 * once past their checkpoint (the state another process kept may lag): every
 * job with an event there is in both lists.
 */
export const startUpJobIds = async (readSide: ReadSide, store: EventStore, recover: boolean): Promise<StartUpJobIds> => {
  const { queries, runtime } = readSide;
  const outstanding = new Set<string>();
  const continuations = new Set<string>();
  const statuses = new Set<JobStatus>(recover ? ['awaiting', 'initial', 'in_progress', 'errored'] : ['awaiting', 'initial']);
  for (const status of Object.values(JobStatuses).filter((s) => statuses.has(s)))
    for await (const page of jobViewPages(queries, { status, limit: Infinity }))
      for (const j of page) {
        if (status === 'awaiting') continuations.add(j.jobId);
        else if (recover) outstanding.add(j.jobId);
        else if (j.released !== undefined && j.attempts === 0) continuations.add(j.jobId);
      }
  if (runtime) {
    let after = runtime.queries.checkpoint(ProjectionNames.jobView);
    for (;;) {
      const page = await storeRead(
        store.readAll({ streamPrefix: jobStreamPrefix, maxCount: 5_000, ...(after !== undefined ? { after } : {}) }),
        'recovery could not read the store',
      );
      for (const e of page) {
        const id = jobIdOfStream(e.streamId);
        if (id === undefined) continue;
        if (recover) outstanding.add(id);
        continuations.add(id);
      }
      const last = page[page.length - 1];
      if (!last) break;
      after = last.position;
    }
  }
  return { outstanding: [...outstanding], continuations: [...continuations] };
};

const mustPublish = async (deps: ConductorDeps, view: JobView, attempt: number, delayMs: number) => {
  const r = await publishAttempt(deps, view, attempt, delayMs);
  if (E.isLeft(r)) throw new BrokerUnavailableError(`recovery could not dispatch job "${view.jobId}": ${r.left.message}`);
};
