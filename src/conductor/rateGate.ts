import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { EventStore, RecordedEvent } from '../eventStore/index.js';
import type { Logger } from '../log/index.js';
import {
  attemptKey,
  holderOf,
  liveGrants,
  nextSlotAt,
  slotMs,
  RatePermitsGranted,
  ratePermitsGrantedType,
  type Grant,
  type RateLimit,
} from './rateWindow.js';

/** How a wait for a permit ended. */
export type PermitOutcome =
  /**
   * The attempt may start now: its permit is recorded (or this process took it a moment ago). It must start before
   * `freshUntilMs` (the grant's time plus the guard), else its start may fall outside the window that counted it.
   */
  | { readonly _tag: 'Granted'; readonly freshUntilMs: number }
  /** Another process holds this attempt's permit (a duplicate dispatch): it is starting it, or its permit lapses. */
  | { readonly _tag: 'Held'; readonly by: string }
  /** No permit within the longest wait: come back in `delayMs`, when one is likely free. */
  | { readonly _tag: 'Later'; readonly delayMs: number }
  /** The caller gave up (the delivery was lost, the engine stops). */
  | { readonly _tag: 'Cancelled' }
  /** The store did not answer. */
  | { readonly _tag: 'Unavailable'; readonly message: string };

/** What a gate did, for the cost of a limit (the bench and the stop log). */
export interface GateStats {
  /** Grants appended (each an append of one event). */
  readonly grants: number;
  /** Permits those held (more than the grants: a grant takes the permits of every waiter at once). */
  readonly permits: number;
  /** Appends refused because another process appended first (each followed by a read). */
  readonly conflicts: number;
  /** Stream reads. */
  readonly reads: number;
  /** Waits that ended in `Later` or `Held`. */
  readonly deferred: number;
}

/** One limit (a worker's or a queue's) as this process passes it: permits in a stream shared by every process. */
export interface RateGate {
  readonly stream: string;
  /** How long past the window a grant counts, and how soon after it its attempts must start. */
  readonly guardMs: number;
  readonly limit: RateLimit;
  /** Waits for a permit for attempt `attempt` of `jobId`, for at most `maxWaitMs`. */
  acquire(jobId: string, attempt: number, cancel: AbortSignal, maxWaitMs: number): Promise<PermitOutcome>;
  stats(): GateStats;
}

export interface RateGateDeps {
  readonly store: EventStore;
  readonly processId: string;
  readonly now: () => Date;
  readonly random: () => number;
  readonly log: Logger;
}

/**
 * Default longest time between a slot and the `JobStarted` of its attempt (a start later than that asks again): a
 * quarter of `perMs / max`, within 5–100 ms. Slots are `(perMs + guard) / max` apart, so throughput is `max` per
 * `perMs + guard` (97.5 % of the limit for 10 per second).
 */
export const defaultGuardMs = (limit: RateLimit): number => Math.min(100, Math.max(5, Math.round(slotMs(limit) / 4)));

/** How far ahead a process books slots: a second's worth at most, and never more than `max` at once. */
const defaultHorizonMs = (limit: RateLimit): number => Math.min(limit.perMs, 1_000);

/** Shortest deferral: a dispatch comes back no sooner. */
const minLaterMs = 200;

interface Waiter {
  readonly key: string;
  readonly jobId: string;
  readonly attempt: number;
  readonly deadlineMs: number;
  readonly settle: (outcome: PermitOutcome) => void;
  /** Takes it out of the line and grants it at its slot `slotAtMs` (at once when that is now or past). */
  readonly grantAt: (slotAtMs: number) => void;
}

/**
 * A log of spaced slots in stream `stream` (docs/rate-limits.md): each grant is an event `RatePermitsGranted` booking
 * the next `count` slots, `(perMs + guard) / max` apart, after every slot granted before, whoever made them. It is
 * appended at the revision this process last saw, so a conflict reads what the others appended and books again. No
 * leader, no lock: a process killed after a grant leaves slots that simply pass. The waiters of this process share
 * appends: one grant books a slot for each of them (at most `max`, at most a second ahead), in their order, and each
 * is granted at its slot.
 */
export const makeRateGate = (
  deps: RateGateDeps,
  stream: string,
  limit: RateLimit,
  options: { readonly guardMs?: number; readonly keepLast?: number } = {},
): RateGate => {
  const guardMs = options.guardMs ?? defaultGuardMs(limit);
  // Slots `(perMs + guard) / max` apart: a start may follow its slot by up to the guard, so the starts of any
  // window of `perMs` come from slots of a window of `perMs + guard`, which holds at most `max` of them.
  const spaced: RateLimit = { max: limit.max, perMs: limit.perMs + guardMs };
  const interval = slotMs(spaced);
  const horizonMs = Math.max(interval, defaultHorizonMs(limit));
  // Grants kept in the stream: at least the window's (`max`), and some more to read who took what.
  const keepLast = options.keepLast ?? Math.max(20, 2 * limit.max);
  const { store, processId, log } = deps;
  const nowMs = () => deps.now().getTime();
  let grants: Grant[] = [];
  /** The stream's revision as last seen; `undefined` before the first read, -1 while it does not exist. */
  let revision: number | undefined;
  let waiters: Waiter[] = [];
  let pumping = false;
  let wake: (() => void) | undefined;
  let warnedOtherLimit = false;
  const stats = { grants: 0, permits: 0, conflicts: 0, reads: 0, deferred: 0 };

  const remember = (events: readonly RecordedEvent[]) => {
    for (const e of events) {
      revision = Math.max(revision ?? -1, e.revision);
      if (e.type !== ratePermitsGrantedType) continue;
      const decoded = RatePermitsGranted.decode(e.data);
      if (E.isLeft(decoded)) {
        log.warn({ stream, revision: e.revision }, 'a rate-limit grant that does not decode: counted as no permits');
        continue;
      }
      const g = decoded.right;
      if ((g.max !== limit.max || g.perMs !== limit.perMs) && !warnedOtherLimit) {
        warnedOtherLimit = true;
        log.warn(
          { stream, here: limit, there: { max: g.max, perMs: g.perMs }, by: g.by },
          'another process holds a different rate limit on the same stream: each grants by its own; give every process the same',
        );
      }
      grants.push({
        revision: e.revision,
        atMs: Date.parse(g.at),
        count: g.count,
        by: g.by,
        keys: g.attempts.map((a) => attemptKey(a.jobId, a.attempt)),
      });
    }
  };

  /** Reads what the stream has past the revision seen (all of it, bounded by trimming, the first time). */
  const catchUp = async (): Promise<E.Either<string, void>> => {
    stats.reads += 1;
    const from = revision === undefined || revision < 0 ? 0 : revision + 1;
    const read = await store.readStream(stream, { fromRevision: from })();
    if (E.isLeft(read)) return E.left(read.left.message);
    revision ??= -1;
    remember(read.right);
    grants = liveGrants(grants, spaced, guardMs, nowMs());
    return E.right(undefined);
  };

  const settleAll = (outcome: PermitOutcome) => {
    for (const w of [...waiters]) w.settle(outcome);
  };

  /** Sleeps until `untilMs`, or until a waiter comes or goes. */
  const sleepUntil = (untilMs: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(
        () => {
          wake = undefined;
          resolve();
        },
        Math.max(1, untilMs - nowMs()),
      );
      wake = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
    });

  const trim = (appendedRevision: number) => {
    if (store.trimStream === undefined || (appendedRevision + 1) % keepLast !== 0) return;
    void store
      .trimStream(stream, keepLast)()
      .then((r) => {
        if (E.isLeft(r)) log.warn({ stream, err: r.left.message }, 'could not trim the rate-limit stream; trying again later');
      });
  };

  /** The one loop of this gate: grants what the window allows to the waiters, in order, until none wait. */
  const pump = async () => {
    if (pumping) return;
    pumping = true;
    try {
      while (waiters.length > 0) {
        if (revision === undefined) {
          const read = await catchUp();
          if (E.isLeft(read)) return settleAll({ _tag: 'Unavailable', message: read.left });
          continue;
        }
        const now = nowMs();
        const candidates: Waiter[] = [];
        for (const w of [...waiters]) {
          const holder = holderOf(grants, w.key, spaced, guardMs, now);
          const slot = holder === undefined ? undefined : holder.atMs + holder.keys.indexOf(w.key) * interval;
          if (holder !== undefined && holder.by !== processId) {
            stats.deferred += 1;
            w.settle({ _tag: 'Held', by: holder.by });
          } else if (slot !== undefined && now <= slot + guardMs) {
            // This process holds its slot already (the same attempt asked again): still within the guard.
            w.grantAt(slot);
          } else candidates.push(w);
        }
        if (candidates.length === 0) continue;
        // The next slots, `interval` apart, after every slot granted so far; booked up to `horizonMs` ahead.
        const first = Math.ceil(nextSlotAt(grants, spaced, now));
        const batch: Waiter[] = [];
        for (const w of candidates) {
          const slot = first + batch.length * interval;
          if (slot > w.deadlineMs) {
            // It would wait past its deadline: it comes back later instead of holding its slot and delivery.
            stats.deferred += 1;
            w.settle({ _tag: 'Later', delayMs: Math.round(Math.max(minLaterMs, slot - now) * (1 + 0.2 * deps.random())) });
          } else if (slot <= now + horizonMs && batch.length < limit.max) batch.push(w);
        }
        if (batch.length === 0) {
          if (waiters.length > 0) await sleepUntil(first - horizonMs);
          continue;
        }
        const data: RatePermitsGranted = {
          by: processId,
          at: new Date(first).toISOString(),
          count: batch.length,
          max: limit.max,
          perMs: limit.perMs,
          attempts: batch.map((w) => ({ jobId: w.jobId, attempt: w.attempt })),
        };
        const appended = await store.append(
          stream,
          [{ id: randomUUID(), type: ratePermitsGrantedType, data, metadata: { origin: processId } }],
          { expectedRevision: revision < 0 ? 'no_stream' : revision },
        )();
        if (E.isRight(appended)) {
          revision = appended.right.nextExpectedRevision;
          grants.push({ revision, atMs: first, count: batch.length, by: processId, keys: batch.map((w) => w.key) });
          grants = liveGrants(grants, spaced, guardMs, nowMs());
          stats.grants += 1;
          stats.permits += batch.length;
          batch.forEach((w, i) => w.grantAt(first + i * interval));
          trim(revision);
          continue;
        }
        if (appended.left._tag === 'WrongExpectedRevision') {
          stats.conflicts += 1;
          const read = await catchUp();
          if (E.isLeft(read)) return settleAll({ _tag: 'Unavailable', message: read.left });
          continue;
        }
        // Unavailable, or a stream an operator deleted for good: nothing was granted.
        return settleAll({ _tag: 'Unavailable', message: appended.left.message });
      }
    } finally {
      pumping = false;
    }
  };

  return {
    stream,
    limit,
    guardMs,
    acquire: (jobId, attempt, cancel, maxWaitMs) => {
      if (cancel.aborted) return Promise.resolve({ _tag: 'Cancelled' });
      return new Promise<PermitOutcome>((resolve) => {
        let settled = false;
        let timer: NodeJS.Timeout | undefined;
        const onCancel = () => waiter.settle({ _tag: 'Cancelled' });
        const leaveLine = () => {
          waiters = waiters.filter((w) => w !== waiter);
          wake?.();
        };
        const waiter: Waiter = {
          key: attemptKey(jobId, attempt),
          jobId,
          attempt,
          deadlineMs: nowMs() + maxWaitMs,
          settle: (outcome) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            cancel.removeEventListener('abort', onCancel);
            leaveLine();
            resolve(outcome);
          },
          grantAt: (slotAtMs) => {
            const granted: PermitOutcome = { _tag: 'Granted', freshUntilMs: slotAtMs + guardMs };
            const waitMs = slotAtMs - nowMs();
            if (waitMs <= 0) return waiter.settle(granted);
            leaveLine();
            timer = setTimeout(() => waiter.settle(granted), waitMs);
          },
        };
        cancel.addEventListener('abort', onCancel, { once: true });
        waiters.push(waiter);
        wake?.();
        void pump().catch((error: unknown) => {
          log.error({ stream, err: (error as Error)?.stack ?? String(error) }, 'the rate-limit gate failed');
          settleAll({ _tag: 'Unavailable', message: (error as Error)?.message ?? String(error) });
        });
      });
    },
    stats: () => ({ ...stats }),
  };
};
