import * as E from 'fp-ts/lib/Either.js';
import type { EventStore } from '../eventStore/index.js';
import type { Logger } from '../log/index.js';
import { purgeStreamName } from './purge.js';

// The `purges-<day>` records expire (docs/retention.md#purge-records): each says who purged which jobs, when and why
// (`JobsPurged`), about 30 bytes a job. Without this they would grow for ever, as the jobs they record no longer do.

const dayMs = 86_400_000;
/** How far back before the first cutoff a process looks for records (after that, only the days since). */
export const purgeRecordsLookbackDays = 400;
/** The default age of purge records, when every status has a finite retention: the longest of those, and 30 days. */
export const defaultPurgeRecordsMs = 30 * dayMs;

const dayStart = (ms: number): number => Math.floor(ms / dayMs) * dayMs;

export interface PurgeRecordsExpiry {
  /**
   * Deletes the `purges-<day>` streams whose whole day is older than `keepMs` before `now`: the days from the last
   * one this process looked at (the first time, `purgeRecordsLookbackDays` back) to the cutoff. Several processes at
   * once: each deletes at any revision, and a stream gone is no error. Returns the streams deleted.
   */
  run(now: Date): Promise<readonly string[]>;
}

export const makePurgeRecordsExpiry = (deps: { readonly store: EventStore; readonly log: Logger }, keepMs: number): PurgeRecordsExpiry => {
  // The first day not looked at yet (ms at 00:00 UTC).
  let next: number | undefined;
  return {
    run: async (now) => {
      // A day's stream holds purges made during it: it is due when its end is older than keepMs.
      const lastDue = dayStart(now.getTime() - keepMs) - dayMs;
      const from = next ?? lastDue - (purgeRecordsLookbackDays - 1) * dayMs;
      const deleted: string[] = [];
      for (let day = from; day <= lastDue; day += dayMs) {
        const stream = purgeStreamName(new Date(day));
        const head = await deps.store.readStream(stream, { maxCount: 1 })();
        // Unavailable: try this day again next run.
        if (E.isLeft(head)) {
          if (head.left._tag === 'StreamDeleted') continue;
          deps.log.warn({ stream, err: head.left.message }, 'could not read a purge record; the next retention run tries again');
          return deleted;
        }
        if (head.right.length > 0) {
          const r = await deps.store.deleteStream(stream, { expectedRevision: 'any' })();
          if (E.isLeft(r) && r.left._tag !== 'StreamDeleted') {
            deps.log.warn({ stream, err: r.left.message }, 'could not delete an expired purge record; the next retention run tries again');
            return deleted;
          }
          deleted.push(stream);
        }
        next = day + dayMs;
      }
      next = Math.max(next ?? 0, lastDue + dayMs);
      return deleted;
    },
  };
};
