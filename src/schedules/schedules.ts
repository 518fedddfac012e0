import * as E from 'fp-ts/lib/Either.js';
import { PathReporter } from 'io-ts/lib/PathReporter.js';
import { enqueueJob, type ConductorDeps, type Enqueued } from '../conductor/index.js';
import { isFinal, isJobView, isoDate, queueNamePattern, queueNameRule, type JobStatus } from '../job/index.js';
import { storeRead } from '../jobStore/index.js';
import { defineWorker, JsonPayload, quote, Worker } from '../worker/index.js';
import { StoreUnavailableError } from '../errors/index.js';
import { CatchUp, Overlap, runJobId, scheduleIdPattern, scheduleIdRule, type ScheduleEvent } from './events.js';
import { InvalidScheduleError, ScheduleNotFoundError } from './errors.js';
import type { LoadedSchedule, ScheduleStore } from './scheduleStore.js';
import { sameDefinition, type ScheduleDefinition, type ScheduleView } from './state.js';
import { isKnownTimezone, nextTick, parseCron, ticksBetween } from './ticks.js';

/** What `upsertSchedule` takes besides the id. `P`: the payload's type, when the worker itself is given. */
export interface ScheduleOptions<P = unknown> {
  /** Five fields (minute first), or six with seconds first; croner's syntax (`L`, `W`, `#`, names, nicknames such as `@daily`). */
  readonly cron: string;
  /** The worker's name; or give `worker`. It need not be registered here, but then only JSON is checked of the payload. */
  readonly workerName?: string;
  /** The worker itself: its codec checks the payload at upsert. */
  readonly worker?: Worker<P, unknown>;
  readonly payload: P;
  /** An IANA zone the cron is read in. Default: `UTC`. */
  readonly timezone?: string;
  /** Default: the worker's (the registered one's when the firing process has it, else `default`). */
  readonly queue?: string;
  /** Default: the worker's. */
  readonly maxAttempts?: number;
  /** Ticks every process missed: `none`, `latest` (one run for them all, the default), or `all` (at most 100). */
  readonly catchUp?: CatchUp;
  /** `allow` (the default), or `skip`: a tick whose previous run is unfinished is recorded as skipped. */
  readonly overlap?: Overlap;
  /** Who did it, for the record. */
  readonly by?: string;
}

/** A schedule as `listSchedules` shows it: its definition, status, and its next and last runs. */
export interface ScheduleInfo extends ScheduleDefinition {
  readonly status: 'active' | 'paused';
  readonly setAt: string;
  readonly skippedTicks: number;
  /** The next tick, while active. */
  readonly nextFireTime?: string;
  /** The newest run found (a tick or a trigger), its job, and the job's status. */
  readonly lastFireTime?: string;
  readonly lastJobId?: string;
  readonly lastJobStatus?: JobStatus;
}

/** The outcome of an upsert: whether a `ScheduleSet` was recorded (an equal definition records nothing). */
export interface UpsertedSchedule {
  readonly scheduleId: string;
  readonly changed: boolean;
  readonly schedule: ScheduleView;
}

export interface ScheduleDeps {
  readonly conductor: ConductorDeps;
  readonly schedules: ScheduleStore;
}

const isScheduleId = (scheduleId: unknown): scheduleId is string => typeof scheduleId === 'string' && scheduleIdPattern.test(scheduleId);

const invalid = (message: string): never => {
  throw new InvalidScheduleError(message);
};

/** Checks an upsert; throws `InvalidScheduleError` saying what is wrong. Nothing is recorded before this passes. */
export const validateSchedule = (deps: ScheduleDeps, scheduleId: unknown, options: ScheduleOptions): ScheduleDefinition => {
  if (!isScheduleId(scheduleId)) invalid(`invalid schedule id ${quote(scheduleId)}: use ${scheduleIdRule}`);
  if (typeof options !== 'object' || options === null) invalid(`schedule options must be an object; got ${quote(options)}`);
  const id = scheduleId as string;
  const timezone = options.timezone ?? 'UTC';
  if (typeof timezone !== 'string' || !isKnownTimezone(timezone))
    invalid(`schedule "${id}": unknown time zone ${quote(timezone)}: use an IANA name such as Europe/Berlin or America/New_York, or UTC`);
  if (typeof options.cron !== 'string') invalid(`schedule "${id}": cron must be text, e.g. "0 3 * * *"; got ${quote(options.cron)}`);
  let fires: Date | undefined;
  try {
    fires = nextTick(parseCron(options.cron, timezone), deps.conductor.now());
  } catch (error) {
    invalid(`schedule "${id}": invalid cron ${quote(options.cron)}: ${(error as Error).message}`);
  }
  if (fires === undefined) invalid(`schedule "${id}": cron ${quote(options.cron)} never fires again`);
  const given = options.worker;
  if (given !== undefined && !(given instanceof Worker))
    invalid(`schedule "${id}": worker must be a Worker (defineWorker); got ${quote(given)}`);
  const workerName = given?.name ?? options.workerName;
  if (typeof workerName !== 'string' || workerName.trim() === '')
    invalid(`schedule "${id}": name its worker (workerName), or pass the worker itself (worker)`);
  // The payload is checked by the worker's codec where this process knows the worker; a process without it checks JSON only.
  const worker = deps.conductor.registry.get(workerName as string) ?? given;
  if (options.payload === undefined) invalid(`schedule "${id}": a payload is required (use {} for none)`);
  const decoded = (worker?.payload ?? JsonPayload).decode(options.payload);
  if (E.isLeft(decoded))
    invalid(`schedule "${id}": the payload does not match worker "${String(workerName)}": ${PathReporter.report(decoded).join('; ')}`);
  if (options.queue !== undefined && (typeof options.queue !== 'string' || !queueNamePattern.test(options.queue)))
    invalid(`schedule "${id}": invalid queue ${quote(options.queue)}: use ${queueNameRule}`);
  const m = options.maxAttempts;
  if (m !== undefined && (!Number.isInteger(m) || m < 1 || m > 1000))
    invalid(`schedule "${id}": invalid maxAttempts ${quote(m)}: use a whole number from 1 to 1000`);
  const catchUp = options.catchUp ?? 'latest';
  if (!CatchUp.is(catchUp)) invalid(`schedule "${id}": invalid catchUp ${quote(catchUp)}: use none, latest or all`);
  const overlap = options.overlap ?? 'allow';
  if (!Overlap.is(overlap)) invalid(`schedule "${id}": invalid overlap ${quote(overlap)}: use allow or skip`);
  return {
    scheduleId: id,
    cron: options.cron,
    timezone,
    workerName: workerName as string,
    payload: options.payload,
    catchUp,
    overlap,
    ...(options.queue !== undefined ? { queue: options.queue } : {}),
    ...(m !== undefined ? { maxAttempts: m } : {}),
  };
};

/** Stand-ins for workers this process does not have: they carry the name and queue, so the run waits for a process that has it. */
const standIns = new Map<string, Worker<unknown>>();
const standInFor = (name: string, queue: string | undefined): Worker<unknown> => {
  const key = `${queue ?? ''}\n${name}`;
  let w = standIns.get(key);
  if (w === undefined) {
    w = defineWorker<unknown>({
      name,
      ...(queue !== undefined ? { queue } : {}),
      action: () => Promise.reject(new Error(`stand-in for worker "${name}": never run here`)),
    });
    standIns.set(key, w);
  }
  return w;
};

/** Enqueues the schedule's run at `fireTime`, as `<scheduleId>@<fireTime>`; `created: false` when another process made it first. */
export const enqueueRun = async (deps: ScheduleDeps, def: ScheduleDefinition, fireTime: Date, by?: string): Promise<Enqueued> => {
  const worker = deps.conductor.registry.get(def.workerName) ?? standInFor(def.workerName, def.queue);
  const r = await enqueueJob(deps.conductor, worker, def.payload, {
    jobId: runJobId(def.scheduleId, fireTime),
    schedule: { scheduleId: def.scheduleId, fireTime },
    enqueuedBy: by ?? `schedule:${def.scheduleId}`,
    ...(def.queue !== undefined ? { queue: def.queue } : {}),
    ...(def.maxAttempts !== undefined ? { maxAttempts: def.maxAttempts } : {}),
  });
  if (E.isLeft(r)) throw r.left;
  return r.right;
};

/** Whether a job exists, and its status. */
export const scheduleRunStatus = async (deps: ScheduleDeps, jobId: string): Promise<{ status: JobStatus; final: boolean } | undefined> => {
  const loaded = await storeRead(deps.conductor.jobs.load(jobId));
  return isJobView(loaded.state) ? { status: loaded.state.status, final: isFinal(loaded.state) } : undefined;
};

/** Reads the schedule's stream (after `known`'s revision, when given) and folds it; `StoreUnavailableError` when it cannot. */
const loadSchedule = (deps: ScheduleDeps, scheduleId: string, known?: LoadedSchedule): Promise<LoadedSchedule> =>
  storeRead(deps.schedules.load(scheduleId, known), `schedule "${scheduleId}"`);

/**
 * Runs `decide` on the schedule as read (only what follows `known`, when given) and appends its events; reads on and
 * decides again when another process moved it first.
 */
const change = async (
  deps: ScheduleDeps,
  scheduleId: string,
  decide: (loaded: LoadedSchedule) => readonly ScheduleEvent[],
  by?: string,
  known?: LoadedSchedule,
): Promise<{ loaded: LoadedSchedule; changed: boolean }> => {
  for (let tries = 0; ; tries++) {
    const loaded: LoadedSchedule = await loadSchedule(deps, scheduleId, known);
    known = loaded;
    const events = decide(loaded);
    if (events.length === 0) return { loaded, changed: false };
    const r = await deps.schedules.append(loaded, events, by)();
    if (E.isRight(r)) return { loaded: r.right, changed: true };
    // Another process moved the schedule first: read again and decide again (a few times; then it is contention, reported).
    if (r.left._tag !== 'WrongExpectedRevision' || tries >= 20)
      throw new StoreUnavailableError(`schedule "${scheduleId}": ${r.left.message}`);
  }
};

const live = (loaded: LoadedSchedule): ScheduleView => {
  const s = loaded.state;
  if (s === undefined || s.status === 'removed') throw new ScheduleNotFoundError(loaded.scheduleId);
  return s;
};

const checkId = (scheduleId: unknown): string => {
  if (!isScheduleId(scheduleId)) throw new ScheduleNotFoundError(String(scheduleId));
  return scheduleId;
};

export const upsertSchedule = async (deps: ScheduleDeps, scheduleId: string, options: ScheduleOptions): Promise<UpsertedSchedule> => {
  const def = validateSchedule(deps, scheduleId, options);
  const at = isoDate(deps.conductor.now());
  const { loaded, changed } = await change(
    deps,
    def.scheduleId,
    ({ state }) =>
      state !== undefined && state.status !== 'removed' && sameDefinition(state, def)
        ? []
        : [{ type: 'ScheduleSet', data: { ...def, at } }],
    options.by,
  );
  return { scheduleId: def.scheduleId, changed, schedule: live(loaded) };
};

const stamp = (deps: ScheduleDeps, scheduleId: string) => ({ scheduleId, at: isoDate(deps.conductor.now()) });

/** Pauses or resumes: records `type` unless the schedule is in `status` already. */
const setStatus = async (
  deps: ScheduleDeps,
  scheduleId: string,
  status: 'paused' | 'active',
  type: 'SchedulePaused' | 'ScheduleResumed',
  by?: string,
): Promise<ScheduleView> => {
  const { loaded } = await change(
    deps,
    checkId(scheduleId),
    (l) => (live(l).status === status ? [] : [{ type, data: stamp(deps, scheduleId) }]),
    by,
  );
  return live(loaded);
};

export const pauseSchedule = (deps: ScheduleDeps, scheduleId: string, by?: string): Promise<ScheduleView> =>
  setStatus(deps, scheduleId, 'paused', 'SchedulePaused', by);

export const resumeSchedule = (deps: ScheduleDeps, scheduleId: string, by?: string): Promise<ScheduleView> =>
  setStatus(deps, scheduleId, 'active', 'ScheduleResumed', by);

export const removeSchedule = async (deps: ScheduleDeps, scheduleId: string, by?: string): Promise<void> => {
  await change(
    deps,
    checkId(scheduleId),
    (l) => {
      live(l);
      return [{ type: 'ScheduleRemoved', data: stamp(deps, scheduleId) }];
    },
    by,
  );
};

/**
 * Runs the schedule once now, outside its cron (Hangfire's "Trigger now"), paused or not, whatever its overlap:
 * job `<scheduleId>@<now>` (a millisecond on when now is a whole second or that id is taken), then
 * `ScheduleTriggered` for the record.
 */
export const triggerSchedule = async (deps: ScheduleDeps, scheduleId: string, by?: string): Promise<Enqueued> => {
  const read = await loadSchedule(deps, checkId(scheduleId));
  const s = live(read);
  // The run is a job of its own: not a tick's, whose fire times are whole seconds (croner's resolution), nor an
  // earlier trigger's in the same millisecond. So a whole second moves on a millisecond, as does a taken id.
  let fireTime = deps.conductor.now();
  let enqueued: Enqueued;
  for (let tries = 0; ; tries++) {
    if (fireTime.getUTCMilliseconds() === 0) fireTime = new Date(fireTime.getTime() + 1);
    enqueued = await enqueueRun(deps, s, fireTime, by ?? 'trigger');
    if (enqueued.created || tries >= 20) break;
    fireTime = new Date(fireTime.getTime() + 1);
  }
  await change(
    deps,
    scheduleId,
    (l) => {
      live(l);
      return [{ type: 'ScheduleTriggered', data: { ...stamp(deps, scheduleId), jobId: enqueued.jobId, fireTime: isoDate(fireTime) } }];
    },
    by,
    read,
  );
  return enqueued;
};

/** How many of the newest ticks `info` looks at for the last run of an `allow` schedule (which records no ticks on its stream). */
const lastRunLookback = 5;

/** A schedule with its next and last runs. */
const scheduleInfo = async (deps: ScheduleDeps, s: ScheduleView): Promise<ScheduleInfo> => {
  const now = deps.conductor.now();
  const cron = parseCron(s.cron, s.timezone);
  const next = s.status === 'active' ? nextTick(cron, now) : undefined;
  // Candidates for the last run, newest first: the recorded ones, and the newest ticks of the cron.
  const candidates: { fireTime: string; jobId: string }[] = [
    ...ticksBetween(cron, new Date(0), now, lastRunLookback).map((t) => ({ fireTime: t.toISOString(), jobId: runJobId(s.scheduleId, t) })),
    ...(s.lastFired !== undefined ? [s.lastFired] : []),
    ...(s.lastTriggered !== undefined ? [s.lastTriggered] : []),
  ].sort((a, b) => Date.parse(b.fireTime) - Date.parse(a.fireTime));
  let last: { fireTime: string; jobId: string; status: JobStatus } | undefined;
  for (const c of candidates) {
    const found = await scheduleRunStatus(deps, c.jobId);
    if (found !== undefined) {
      last = { ...c, status: found.status };
      break;
    }
  }
  const { lastDecision: _d, lastFired: _f, lastTriggered: _t, activeSince: _a, status, ...rest } = s;
  return {
    ...rest,
    status: status === 'paused' ? 'paused' : 'active',
    ...(next !== undefined ? { nextFireTime: next.toISOString() } : {}),
    ...(last !== undefined ? { lastFireTime: last.fireTime, lastJobId: last.jobId, lastJobStatus: last.status } : {}),
  };
};

/** Every schedule not removed, by id. */
export const listSchedules = async (deps: ScheduleDeps): Promise<readonly ScheduleInfo[]> => {
  const { schedules } = await storeRead(deps.schedules.loadAll(), 'schedules');
  const views = schedules
    .map((l) => l.state)
    .filter((s): s is ScheduleView => s !== undefined && s.status !== 'removed')
    .sort((a, b) => (a.scheduleId < b.scheduleId ? -1 : a.scheduleId > b.scheduleId ? 1 : 0));
  return Promise.all(views.map((s) => scheduleInfo(deps, s)));
};

/** One schedule with its next and last runs; `undefined` when there is no such schedule. */
export const getSchedule = async (deps: ScheduleDeps, scheduleId: string): Promise<ScheduleInfo | undefined> => {
  if (!isScheduleId(scheduleId)) return undefined;
  const s = (await loadSchedule(deps, scheduleId)).state;
  return s === undefined || s.status === 'removed' ? undefined : scheduleInfo(deps, s);
};

/** Upserts the schedules the workers declare (`defineWorker({ schedule })`); an equal definition records nothing. */
export const upsertDeclaredSchedules = async (
  deps: ScheduleDeps,
  workers: readonly Worker<unknown>[],
): Promise<readonly UpsertedSchedule[]> => {
  const out: UpsertedSchedule[] = [];
  for (const w of workers) {
    const declared = w.schedule;
    if (declared === undefined) continue;
    const { id, payload, ...rest } = declared;
    out.push(await upsertSchedule(deps, id ?? w.name, { ...rest, worker: w, payload: payload ?? {}, by: `worker:${w.name}` }));
  }
  return out;
};
