import * as E from 'fp-ts/lib/Either.js';
import type { EventStore, ReadStreamError } from '../eventStore/index.js';
import {
  applyProcessEvent,
  newProcessRecord,
  ProcessEvents,
  processDirectoryStream,
  processRecovery,
  processStatus,
  processStreamName,
  type ProcessInfo,
  type ProcessRecord,
  type ProcessRecovery,
  type ProcessStatus,
  type RecoveredAttempt,
} from './record.js';

const pageSize = 1_000;
/** Process streams read at once. */
const parallelReads = 16;

/** The defaults of what the readers judge by (the sweep's heartbeat interval and `missedHeartbeats`, the retention). */
export const processDefaults = {
  heartbeatIntervalMs: 5_000,
  missedHeartbeats: 6,
  /** A stopped or gone process's stream is deleted this long after its last sign of life (docs/processes.md). */
  retentionMs: 7 * 24 * 3_600_000,
} as const;

/**
 * Reads `process-<processId>` from where `record` stopped reading (`record.next`), folding what is new into it. A
 * trimmed stream reads from its first kept event on; a deleted one reads as empty.
 */
export const readProcessStream = async (store: EventStore, record: ProcessRecord): Promise<E.Either<ReadStreamError, ProcessRecord>> => {
  for (;;) {
    const r = await store.readStream(processStreamName(record.processId), { fromRevision: record.next, maxCount: pageSize })();
    if (E.isLeft(r)) return r;
    for (const e of r.right) applyProcessEvent(record, e);
    if (r.right.length < pageSize) return E.right(record);
  }
};

/** A process as `jobtrail processes` and the dashboard show it. */
export interface ProcessSummary extends ProcessInfo {
  readonly processId: string;
  readonly status: ProcessStatus;
  /** The last heartbeat (or stop), ISO-8601. */
  readonly lastSeenAt?: string;
  readonly heartbeatIntervalMs: number;
  /** Attempts running at its last heartbeat (0 once stopped). */
  readonly running?: number;
  /** For a gone process: what became of its attempts. */
  readonly recovery?: ProcessRecovery;
  readonly recovered: readonly RecoveredAttempt[];
}

export interface ProcessReaderOptions {
  readonly now?: () => Date;
  readonly missedHeartbeats?: number;
  readonly heartbeatIntervalMs?: number;
  /** Whether a process is certainly gone by other means (on this host: its pid is not alive). */
  readonly isGoneHere?: (processId: string) => boolean;
}

export interface ListProcessesOptions {
  /** Stopped and gone processes too (default: only running ones, and those stopped or gone within `recentMs`). */
  readonly all?: boolean;
  /** Without `all`: how long a stopped or gone process is still shown; default 10 heartbeat-silences (missed × interval × 10), at least 5 minutes. */
  readonly recentMs?: number;
}

/**
 * Every process the directory names, read incrementally: each `refresh` reads the directory's new registrations and
 * each known process stream from where it stopped. A stream that reads as empty and never said anything (deleted
 * by the retention) is forgotten.
 */
export const makeProcessReader = (store: EventStore, options: ProcessReaderOptions = {}) => {
  const now = options.now ?? (() => new Date());
  const missedHeartbeats = options.missedHeartbeats ?? processDefaults.missedHeartbeats;
  const defaultInterval = options.heartbeatIntervalMs ?? processDefaults.heartbeatIntervalMs;
  const known = new Map<string, ProcessRecord>();
  let directoryNext = 0;
  let reading: Promise<void> | undefined;

  const readDirectory = async (): Promise<void> => {
    for (;;) {
      const r = await store.readStream(processDirectoryStream, { fromRevision: directoryNext, maxCount: pageSize })();
      if (E.isLeft(r)) throw new Error(`could not read the process directory: ${r.left.message}`);
      for (const e of r.right) {
        const id = (e.data as { processId?: unknown } | null)?.processId;
        if (e.type === ProcessEvents.registered && typeof id === 'string' && !known.has(id))
          known.set(id, newProcessRecord(id, defaultInterval));
        directoryNext = e.revision + 1;
      }
      if (r.right.length < pageSize) return;
    }
  };

  const readNew = async (): Promise<void> => {
    await readDirectory();
    const ids = [...known.keys()];
    for (let i = 0; i < ids.length; i += parallelReads)
      await Promise.all(
        ids.slice(i, i + parallelReads).map(async (id) => {
          const record = known.get(id)!;
          const r = await readProcessStream(store, record);
          if (E.isLeft(r)) throw new Error(`could not read the stream of process ${id}: ${r.left.message}`);
          if (record.next === 0) known.delete(id); // nothing there: deleted by the retention (or never beat)
        }),
      );
  };

  const summaryOf = (r: ProcessRecord, at: number): ProcessSummary => {
    const status = processStatus(r, { now: at, missedHeartbeats, goneHere: options.isGoneHere?.(r.processId) === true });
    return {
      processId: r.processId,
      ...r.info,
      status,
      ...(r.lastSeenAt !== undefined ? { lastSeenAt: new Date(r.lastSeenAt).toISOString() } : {}),
      heartbeatIntervalMs: r.intervalMs,
      ...(r.running !== undefined ? { running: status === 'running' || status === 'gone' ? r.running : 0 } : {}),
      ...(status === 'gone' ? { recovery: processRecovery(r) } : {}),
      recovered: [...r.recovered],
    };
  };

  return {
    /** Reads what was recorded since the last call (calls at once share one read); throws when the store cannot be read. */
    refresh: (): Promise<void> =>
      (reading ??= readNew().finally(() => {
        reading = undefined;
      })),
    /** The processes as of the last `refresh`: running first, then by last seen, newest first. */
    list: (o: ListProcessesOptions = {}): ProcessSummary[] => {
      const at = now().getTime();
      const recentMs = o.recentMs ?? Math.max(300_000, 10 * missedHeartbeats * defaultInterval);
      const rank = { running: 0, gone: 1, stopped: 2 } as const;
      return [...known.values()]
        .map((r) => ({ r, s: summaryOf(r, at) }))
        .filter(({ r, s }) => o.all === true || s.status === 'running' || at - (r.lastSeenAt ?? r.lastNoteAt ?? 0) <= recentMs)
        .sort((a, b) => rank[a.s.status] - rank[b.s.status] || (b.r.lastSeenAt ?? 0) - (a.r.lastSeenAt ?? 0))
        .map(({ s }) => s);
    },
    /** The records as of the last `refresh` (the retention's sweep; the queues' directory). */
    records: (): readonly ProcessRecord[] => [...known.values()],
    status: (r: ProcessRecord): ProcessStatus =>
      processStatus(r, { now: now().getTime(), missedHeartbeats, goneHere: options.isGoneHere?.(r.processId) === true }),
    /** Forgets a process (its stream was deleted). */
    forget: (processId: string): void => void known.delete(processId),
  };
};
export type ProcessReader = ReturnType<typeof makeProcessReader>;

/** `jobtrail processes` and the dashboard: one read of every process. */
export const listProcesses = async (
  store: EventStore,
  options: ProcessReaderOptions & ListProcessesOptions = {},
): Promise<ProcessSummary[]> => {
  const reader = makeProcessReader(store, options);
  await reader.refresh();
  return reader.list(options);
};
