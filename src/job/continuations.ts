import * as E from 'fp-ts/lib/Either.js';
import type { FinalStatus, IsoDate, JobCancelled, JobId, JobReleased } from './events.js';
import { isFinal, isJobView, type JobState, type JobView } from './state.js';
import { cancel, release, satisfies, type TransitionRejected } from './transitions.js';

/** What a continuation's parents, as read now, make of it. */
export type ContinuationVerdict =
  /** Not (or no longer) `awaiting`: released, cancelled, or not a continuation. Nothing to do. */
  | { readonly kind: 'none' }
  /** A parent it needs is not final yet. */
  | { readonly kind: 'wait' }
  | { readonly kind: 'release'; readonly events: readonly [JobReleased] }
  | { readonly kind: 'cancel'; readonly events: readonly [JobCancelled]; readonly reason: string };

const finalStatusOf = (s: JobView): FinalStatus =>
  s.status === 'completed' ? 'completed' : s.status === 'cancelled' ? 'cancelled' : 'errored';

const ended = (s: JobView): string =>
  s.status === 'completed' ? 'completed' : s.status === 'cancelled' ? 'was cancelled' : 'failed for good';

/**
 * Decides an `awaiting` continuation from its parents' states (`parents`:
 * each parent id it names, as read). It is cancelled as soon as one parent
 * ends in a way `on` does not accept (it could never run: no need to wait for
 * the others); it is released once every parent is final and each one
 * satisfies `on`; otherwise it waits. A parent with no stream (deleted for
 * good after the child was recorded) cancels it too. The events are for an
 * append at the revision the child was read at, so racing deciders record one.
 */
export const decideContinuation = (
  child: JobState,
  parents: ReadonlyMap<string, JobState>,
  at: IsoDate,
): E.Either<TransitionRejected, ContinuationVerdict> => {
  if (!isJobView(child) || child.status !== 'awaiting' || child.after === undefined) return E.right({ kind: 'none' });
  const on = child.on ?? 'completed';
  const found: { jobId: JobId; status: FinalStatus }[] = [];
  let waiting = false;
  for (const id of child.after) {
    const p = parents.get(id) ?? { status: 'none' as const };
    let reason: string | undefined;
    if (!isJobView(p)) reason = `parent "${id}" does not exist (its stream was deleted)`;
    else if (!isFinal(p)) waiting = true;
    else if (!satisfies(on, finalStatusOf(p)))
      reason = `parent "${id}" ${ended(p)}${p.cancelReason !== undefined && p.status === 'cancelled' ? ` (${p.cancelReason})` : ''}; this continuation runs only when every parent completed`;
    else found.push({ jobId: id, status: finalStatusOf(p) });
    if (reason !== undefined) {
      const r = cancel(child, { at, reason, by: 'jobtrail' });
      return E.isLeft(r) ? r : E.right({ kind: 'cancel', events: r.right, reason });
    }
  }
  if (waiting) return E.right({ kind: 'wait' });
  const r = release(child, { at, parents: found });
  return E.isLeft(r) ? r : E.right({ kind: 'release', events: r.right });
};
