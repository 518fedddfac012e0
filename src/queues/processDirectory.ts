import * as E from 'fp-ts/lib/Either.js';
import { isProcessGone, ProcessEvents } from '../conductor/index.js';
import type { EventStore } from '../eventStore/index.js';

/** The prefix of the process streams (`process-<processId>`, src/conductor/sweeper.ts). */
const processStreamPrefix = 'process-';
const pageSize = 5_000;

interface KnownProcess {
  /** The queues its last heartbeat says it consumes; `undefined` when it does not say (an older version). */
  readonly queues: readonly string[] | undefined;
}

/** What the processes' heartbeats say about who consumes a queue. */
export interface QueueProcesses {
  /** The live processes whose heartbeat lists the queue. */
  readonly processes: readonly string[];
  /** Whether some live process does not say which queues it consumes (then nobody can tell that none does). */
  readonly unknown: boolean;
}

/**
 * The processes that consume each queue, from their heartbeats (`ProcessHeartbeat` in `process-<processId>`, which
 * lists `queues`), for a broker that does not reach other processes (the embedded mode, where RabbitMQ's consumer
 * count is not there to ask). A process is live until it recorded `ProcessStopped`, or, on this host, until its pid is
 * gone; a process on another host that was killed cannot be told from here and counts as live. Reads only the
 * heartbeats it has not seen (the first call reads them all).
 */
export const makeProcessDirectory = (store: EventStore, self: string) => {
  const processes = new Map<string, KnownProcess>();
  let position: string | undefined;
  let reading: Promise<void> | undefined;
  const readNew = async (): Promise<void> => {
    // The head before the read: the next read starts there, so each read scans only what was appended since the last
    // (it may see again the few heartbeats appended during this read: applied again in order, they change nothing).
    const head = await store.headPosition()();
    if (E.isLeft(head)) throw new Error(`could not read the process heartbeats: ${head.left.message}`);
    for (;;) {
      const r = await store.readAll({
        streamPrefix: processStreamPrefix,
        maxCount: pageSize,
        ...(position !== undefined ? { after: position } : {}),
      })();
      if (E.isLeft(r)) throw new Error(`could not read the process heartbeats: ${r.left.message}`);
      for (const e of r.right) {
        const id = e.streamId.slice(processStreamPrefix.length);
        const data = e.data as { queues?: unknown };
        if (e.type === ProcessEvents.heartbeat)
          processes.set(id, {
            queues: Array.isArray(data.queues) ? data.queues.filter((q): q is string => typeof q === 'string') : undefined,
          });
        else if (e.type === ProcessEvents.stopped) processes.delete(id);
        position = e.position;
      }
      if (r.right.length < pageSize) break;
    }
    if (head.right !== undefined) position = head.right;
  };
  return {
    /** Reads the heartbeats recorded since the last call (calls at once share one read). */
    refresh: (): Promise<void> =>
      (reading ??= readNew().finally(() => {
        reading = undefined;
      })),
    /** Who consumes `queue`, as of the last `refresh`. */
    consumersOf: (queue: string): QueueProcesses => {
      const found: string[] = [];
      let unknown = false;
      for (const [id, p] of processes) {
        if (isProcessGone(id, self)) continue;
        if (p.queues === undefined) unknown = true;
        else if (p.queues.includes(queue)) found.push(id);
      }
      return { processes: found, unknown };
    },
  };
};
export type ProcessDirectory = ReturnType<typeof makeProcessDirectory>;
