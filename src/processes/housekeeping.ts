import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { EventStore } from '../eventStore/index.js';
import type { Logger } from '../log/index.js';
import { makeProcessReader, processDefaults, type ProcessReader } from './reader.js';
import { ProcessEvents, processStreamName, type ProcessRecord } from './record.js';

export interface HousekeepingDeps {
  readonly store: EventStore;
  readonly processId: string;
  readonly log: Logger;
  readonly now: () => Date;
}

/**
 * Records on a gone process's stream which of its attempts this process's sweep recorded as `WorkerLost` (one event
 * per sweep and gone process), with the last sign of life and identity it judged from, so that a stream trimmed down to
 * this note still says them. Not a sign of life.
 */
export const noteRecovered = async (
  deps: HousekeepingDeps,
  goneProcessId: string,
  jobs: readonly { readonly jobId: string; readonly attempt: number }[],
  judgedFrom?: ProcessRecord,
): Promise<void> => {
  if (jobs.length === 0) return;
  const r = await deps.store.append(
    processStreamName(goneProcessId),
    [
      {
        id: randomUUID(),
        type: ProcessEvents.recovered,
        data: {
          processId: goneProcessId,
          by: deps.processId,
          at: deps.now().toISOString(),
          jobs: jobs.map((j) => ({ jobId: j.jobId, attempt: j.attempt })),
          ...(judgedFrom?.lastSeenAt !== undefined ? { lastSeenAt: new Date(judgedFrom.lastSeenAt).toISOString() } : {}),
          ...(judgedFrom !== undefined ? { info: judgedFrom.info } : {}),
        },
        metadata: { origin: deps.processId },
      },
    ],
    { expectedRevision: 'any' },
  )();
  if (E.isLeft(r))
    deps.log.warn({ processId: goneProcessId, err: r.left.message }, 'could not note the recovered attempts of a gone process');
};

export interface ProcessRetentionOptions {
  /** A stopped or gone process's stream is deleted once its last sign of life is older than this; default 7 days. */
  readonly retentionMs?: number;
  readonly missedHeartbeats?: number;
  readonly heartbeatIntervalMs?: number;
  readonly isGoneHere?: (processId: string) => boolean;
}

/**
 * The retention of process streams, run by every `jobtrail run` process's sweep: deletes the stream of each process
 * that stopped or is gone and was last seen more than `retentionMs` ago. Idempotent across processes: the delete is
 * checked at the revision read (a process that beats again keeps its stream), and one already deleted by another
 * process is simply forgotten.
 */
export const makeProcessRetention = (deps: HousekeepingDeps, options: ProcessRetentionOptions = {}) => {
  const retentionMs = options.retentionMs ?? processDefaults.retentionMs;
  const reader: ProcessReader = makeProcessReader(deps.store, {
    now: deps.now,
    ...(options.missedHeartbeats !== undefined ? { missedHeartbeats: options.missedHeartbeats } : {}),
    ...(options.heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}),
    ...(options.isGoneHere !== undefined ? { isGoneHere: options.isGoneHere } : {}),
  });
  return {
    /** One pass: returns the processes whose streams this pass deleted. */
    sweep: async (): Promise<readonly string[]> => {
      await reader.refresh();
      const now = deps.now().getTime();
      const deleted: string[] = [];
      for (const r of reader.records()) {
        const last = r.lastSeenAt ?? r.lastNoteAt;
        if (r.processId === deps.processId || last === undefined || now - last <= retentionMs) continue;
        if (reader.status(r) === 'running') continue;
        const d = await deps.store.deleteStream(processStreamName(r.processId), { expectedRevision: r.next - 1 })();
        if (E.isRight(d) || d.left._tag === 'WrongExpectedRevision' || d.left._tag === 'StreamDeleted') {
          // Deleted here, or by another process first (a process that beat again is read again from the directory later).
          if (E.isRight(d)) deleted.push(r.processId);
          reader.forget(r.processId);
        } else deps.log.warn({ processId: r.processId, err: d.left.message }, 'could not delete the stream of an old process');
      }
      if (deleted.length > 0) deps.log.info({ processes: deleted.length }, 'deleted the streams of processes gone or stopped long ago');
      return deleted;
    },
  };
};
