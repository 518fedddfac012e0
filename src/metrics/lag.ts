import type { ReadSide } from '../backends/readSide.js';
import type { EventStore } from '../eventStore/index.js';
import { storeRead } from '../jobStore/index.js';
import { ProjectionNames, type JobDashboard } from '../projections/index.js';
import { lagCountCap, type JobCountsSample, type LagSample } from './prometheus.js';

/** The built-in projections and the streams they fold (both `fromCategory('job')`). */
const jobProjections: readonly string[] = [ProjectionNames.jobView, ProjectionNames.jobDashboard];

/**
 * How far the embedded projections lag the store: the job events after each one's committed checkpoint (whichever
 * process committed it), their count (up to `lagCountCap`) and the age of the oldest. EventStoreDB runs its
 * projections on the server: nothing is reported for it.
 */
export const projectionLag = async (readSide: ReadSide, store: Pick<EventStore, 'readAll'>, now: () => Date): Promise<LagSample[]> => {
  const runtime = readSide.runtime;
  if (runtime === undefined) return [];
  const running = new Set(runtime.status().map((s) => s.name));
  const out: LagSample[] = [];
  for (const projection of jobProjections) {
    if (!running.has(projection)) continue;
    const checkpoint = runtime.queries.checkpoint(projection);
    const pending = await storeRead(
      store.readAll({ ...(checkpoint !== undefined ? { after: checkpoint } : {}), streamPrefix: 'job-', maxCount: lagCountCap }),
      'projection lag',
    );
    const oldest = pending[0];
    out.push({
      projection,
      events: pending.length,
      seconds: oldest === undefined ? 0 : Math.max(0, now().getTime() - Date.parse(oldest.created)) / 1000,
    });
  }
  return out;
};

/** The store-wide counts of a `job-dashboard` state (docs/projections.md); `undefined` before its first event. */
export const jobCountsOf = (state: unknown): JobCountsSample | undefined => {
  if (typeof state !== 'object' || state === null) return undefined;
  const s = state as Partial<JobDashboard>;
  if (typeof s.counts !== 'object' || s.counts === null) return undefined;
  const counts: Record<string, number> = {};
  for (const [status, n] of Object.entries(s.counts)) if (typeof n === 'number' && Number.isFinite(n)) counts[status] = n;
  const oldest = s.outstanding?.entries?.[0]?.enqueuedAt;
  const oldestAt = oldest === undefined ? undefined : Date.parse(oldest);
  return {
    counts,
    awaitingRetry: typeof s.awaitingRetry === 'number' ? s.awaitingRetry : 0,
    ...(oldestAt !== undefined && Number.isFinite(oldestAt) ? { oldestOutstandingAt: oldestAt } : {}),
  };
};
