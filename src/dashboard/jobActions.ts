import { isFinal, type JobView } from '../job/index.js';
import { searchStatusOf } from '../projections/index.js';
import type { DashboardAction } from './routes.js';

/**
 * The actions a job's page and list row offer, by its state: Retry on a failed or cancelled job; Cancel on an
 * enqueued, awaiting, awaiting-retry or running one (on a running one it asks the process to abort the action,
 * once: not again while that request stands); Purge on a final one.
 */
export const validActions = (v: JobView): readonly DashboardAction[] => {
  const s = searchStatusOf(v);
  const out: DashboardAction[] = [];
  if (s === 'failed' || s === 'cancelled') out.push('retry');
  if (s === 'initial' || s === 'awaiting' || s === 'awaiting_retry' || (s === 'in_progress' && v.cancelRequested === undefined))
    out.push('cancel');
  if (isFinal(v)) out.push('purge');
  return out;
};
