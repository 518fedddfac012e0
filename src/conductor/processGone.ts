import type { EventStore } from '../eventStore/index.js';
import { makeLiveness } from './sweeper.js';

/** How many heartbeat intervals without a sign of life make a process gone (as the sweep judges, docs/architecture.md). */
const missedHeartbeats = 6;

/**
 * Whether the process `processId` (`host:pid:random`) is certainly gone: on this host by its pid; elsewhere by its
 * heartbeats (`process-<id>`): it recorded `ProcessStopped`, or no heartbeat for 6 of its intervals. A process that
 * records no heartbeats, on another host, is never judged gone. Used by readers of `actionsRunning` ("timed out,
 * still running"): a process that died took its action with it (docs/running.md#timed-out-still-running).
 */
export const makeProcessGone = (
  deps: { readonly store: EventStore; readonly processId: string; readonly now: () => Date },
  heartbeatIntervalMs: number,
): ((processId: string) => Promise<boolean>) => {
  const liveness = makeLiveness(deps, { heartbeatIntervalMs: heartbeatIntervalMs > 0 ? heartbeatIntervalMs : 5_000, missedHeartbeats });
  return (processId) => liveness.isGone({ workerId: processId });
};

/** The processes of `view.actionsRunning` that are gone (`processGone`), for the presentation. */
export const goneProcessesOf = async (
  view: { readonly actionsRunning?: readonly { readonly workerId?: string }[] },
  processGone: ((processId: string) => Promise<boolean>) | undefined,
): Promise<ReadonlySet<string>> => {
  const gone = new Set<string>();
  if (processGone === undefined) return gone;
  for (const a of view.actionsRunning ?? []) if (a.workerId !== undefined && (await processGone(a.workerId))) gone.add(a.workerId);
  return gone;
};
