import { isProcessGone } from '../conductor/index.js';
import type { EventStore } from '../eventStore/index.js';
import { makeProcessReader } from '../processes/index.js';

/** What the processes' heartbeats say about who consumes a queue. */
export interface QueueProcesses {
  /** The live processes whose heartbeat lists the queue. */
  readonly processes: readonly string[];
  /** Whether some live process does not say which queues it consumes (then nobody can tell that none does). */
  readonly unknown: boolean;
}

/**
 * The processes that consume each queue, from their heartbeats (`ProcessHeartbeat` in `process-<processId>`, which
 * lists `queues`; read through the process directory, src/processes/), for a broker that does not reach other
 * processes (the embedded mode, where RabbitMQ's consumer count is not there to ask). A process counts while it runs:
 * not once it recorded `ProcessStopped`, nor once it is gone (no heartbeat for the sweep's `missedHeartbeats` of its
 * intervals, or, on this host, its pid is gone). Reads only what it has not seen (the first call reads it all).
 */
export const makeProcessDirectory = (store: EventStore, self: string) => {
  const reader = makeProcessReader(store, { isGoneHere: (id) => isProcessGone(id, self) });
  return {
    /** Reads the heartbeats recorded since the last call (calls at once share one read). */
    refresh: (): Promise<void> => reader.refresh(),
    /** Who consumes `queue`, as of the last `refresh`. */
    consumersOf: (queue: string): QueueProcesses => {
      const found: string[] = [];
      let unknown = false;
      for (const r of reader.records()) {
        if (reader.status(r) !== 'running') continue;
        if (r.info.queues === undefined) unknown = true;
        else if (r.info.queues.includes(queue)) found.push(r.processId);
      }
      return { processes: found, unknown };
    },
  };
};
export type ProcessDirectory = ReturnType<typeof makeProcessDirectory>;
