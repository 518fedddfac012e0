import type { RecordedEvent } from '../eventStore/index.js';

// What a process's stream (`process-<processId>`) says about it, folded from its events (docs/processes.md). Shared by
// the sweep's liveness (src/conductor/sweeper.ts), the queues' process directory and `jobtrail processes`.

/** The stream of a process's heartbeats. */
export const processStreamName = (processId: string): string => `${processStreamPrefix}${processId}`;
export const processStreamPrefix = 'process-';

/**
 * The directory of processes: one `ProcessRegistered` per process when it starts (and again every few hours while it
 * runs), so that readers find the process streams without scanning the whole log. Not `process-…`: it is no process.
 */
export const processDirectoryStream = 'processes';

export const ProcessEvents = {
  heartbeat: 'ProcessHeartbeat',
  stopped: 'ProcessStopped',
  /** In the directory stream. */
  registered: 'ProcessRegistered',
  /** Recorded by the sweep of another process: the attempts of this (gone) process it recorded as `WorkerLost`. */
  recovered: 'ProcessAttemptsRecovered',
} as const;

/** A worker of the process, as its heartbeat says. */
export interface ProcessWorker {
  readonly name: string;
  readonly queue: string;
  readonly concurrency: number;
}

/** What a process's heartbeat says about it (each field absent when an older version did not say). */
export interface ProcessInfo {
  readonly host?: string;
  readonly pid?: number;
  readonly version?: string;
  readonly queues?: readonly string[];
  readonly workers?: readonly ProcessWorker[];
  readonly startedAt?: string;
}

/** An attempt of a gone process that another process's sweep recorded as `WorkerLost` (and retried). */
export interface RecoveredAttempt {
  readonly jobId: string;
  readonly attempt: number;
  readonly at: string;
  /** The process whose sweep recovered it. */
  readonly by: string;
}

/** A process as its stream tells it, and how far the stream was read. */
export interface ProcessRecord {
  readonly processId: string;
  info: ProcessInfo;
  /** The last heartbeat or stop, ms since the epoch; `undefined` before any. */
  lastSeenAt?: number;
  /** The last recovery note, ms since the epoch: the retention's clock for a stream trimmed down to notes. */
  lastNoteAt?: number;
  /** The process's heartbeat interval, as it says (else the default). */
  intervalMs: number;
  /** It recorded `ProcessStopped` after its last heartbeat. */
  stopped: boolean;
  /** Attempts running at its last heartbeat. */
  running?: number;
  recovered: RecoveredAttempt[];
  /** The next revision to read of its stream. */
  next: number;
}

export const newProcessRecord = (processId: string, intervalMs: number): ProcessRecord => ({
  processId,
  info: {},
  intervalMs,
  stopped: false,
  recovered: [],
  next: 0,
});

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);
const texts = (v: unknown): readonly string[] | undefined =>
  Array.isArray(v) ? v.filter((q): q is string => typeof q === 'string') : undefined;
const workers = (v: unknown): readonly ProcessWorker[] | undefined =>
  Array.isArray(v)
    ? v.flatMap((w: { name?: unknown; queue?: unknown; concurrency?: unknown } | null) =>
        w !== null &&
        typeof w === 'object' &&
        typeof w.name === 'string' &&
        typeof w.queue === 'string' &&
        count(w.concurrency) !== undefined
          ? [{ name: w.name, queue: w.queue, concurrency: w.concurrency as number }]
          : [],
      )
    : undefined;

/** The `ProcessInfo` fields of a heartbeat's data (or of the snapshot a recovery note carries). */
export const infoOf = (data: Readonly<Record<string, unknown>>): ProcessInfo => {
  const info: { -readonly [K in keyof ProcessInfo]: ProcessInfo[K] } = {};
  const host = text(data.host);
  const pid = count(data.pid);
  const version = text(data.version);
  const queues = texts(data.queues);
  const ws = workers(data.workers);
  const startedAt = text(data.startedAt);
  if (host !== undefined) info.host = host;
  if (pid !== undefined) info.pid = pid;
  if (version !== undefined) info.version = version;
  if (queues !== undefined) info.queues = queues;
  if (ws !== undefined) info.workers = ws;
  if (startedAt !== undefined) info.startedAt = startedAt;
  return info;
};

const timeOf = (v: unknown): number | undefined => {
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isNaN(t) ? undefined : t;
};

/**
 * Applies one event of the process's stream. Only a heartbeat or a stop is a sign of life: a recovery note written by
 * another process is not (it carries the last sign of life it judged from, used only when the stream was trimmed so
 * far that no heartbeat is left).
 */
export const applyProcessEvent = (record: ProcessRecord, e: RecordedEvent): ProcessRecord => {
  const data = (e.data !== null && typeof e.data === 'object' ? e.data : {}) as Readonly<Record<string, unknown>>;
  const at = timeOf(data.at);
  if (e.type === ProcessEvents.heartbeat) {
    if (at !== undefined) record.lastSeenAt = Math.max(record.lastSeenAt ?? 0, at);
    record.stopped = false;
    const interval = count(data.intervalMs);
    if (interval !== undefined && interval > 0) record.intervalMs = interval;
    record.info = { ...record.info, ...infoOf(data) };
    const running = count(data.running);
    if (running !== undefined) record.running = running;
  } else if (e.type === ProcessEvents.stopped) {
    if (at !== undefined) record.lastSeenAt = Math.max(record.lastSeenAt ?? 0, at);
    record.stopped = true;
    record.running = 0;
  } else if (e.type === ProcessEvents.recovered) {
    const by = text(data.by) ?? 'unknown';
    if (at !== undefined) record.lastNoteAt = Math.max(record.lastNoteAt ?? 0, at);
    const jobs = Array.isArray(data.jobs) ? (data.jobs as unknown[]) : [];
    for (const j of jobs) {
      const jobId = text((j as { jobId?: unknown } | null)?.jobId);
      const attempt = count((j as { attempt?: unknown } | null)?.attempt);
      if (jobId === undefined || attempt === undefined) continue;
      if (record.recovered.some((r) => r.jobId === jobId && r.attempt === attempt)) continue;
      record.recovered.push({ jobId, attempt, at: text(data.at) ?? e.created, by });
    }
    if (record.lastSeenAt === undefined) {
      const last = timeOf(data.lastSeenAt);
      if (last !== undefined) record.lastSeenAt = last;
    }
    if (Object.keys(record.info).length === 0 && data.info !== null && typeof data.info === 'object')
      record.info = infoOf(data.info as Record<string, unknown>);
  }
  record.next = e.revision + 1;
  return record;
};

// ---------------------------------------------------------------- status

/** running: beats; stopped: said it stopped; gone: no heartbeat for `missedHeartbeats` of its intervals (or its pid is gone, on this host). */
export type ProcessStatus = 'running' | 'stopped' | 'gone';

/**
 * What became of a gone process's attempts: `recovered` (another process's sweep recorded them as `WorkerLost` and
 * retried them), `pending` (it ran attempts at its last heartbeat and none is recovered yet), `none` (it ran none).
 */
export type ProcessRecovery = 'recovered' | 'pending' | 'none';

export interface StatusOptions {
  readonly now: number;
  /** How many heartbeat intervals without a sign of life make a process gone (the sweep's `missedHeartbeats`). */
  readonly missedHeartbeats: number;
  /** Whether the process is certainly gone by other means (on this host, its pid is not alive). */
  readonly goneHere?: boolean;
}

export const processStatus = (r: Pick<ProcessRecord, 'stopped' | 'lastSeenAt' | 'intervalMs'>, o: StatusOptions): ProcessStatus =>
  r.stopped
    ? 'stopped'
    : o.goneHere === true || r.lastSeenAt === undefined || o.now - r.lastSeenAt > o.missedHeartbeats * r.intervalMs
      ? 'gone'
      : 'running';

export const processRecovery = (r: Pick<ProcessRecord, 'recovered' | 'running'>): ProcessRecovery =>
  r.recovered.length > 0 ? 'recovered' : (r.running ?? 0) > 0 ? 'pending' : 'none';
