import { Cron } from 'croner';
import type { CatchUp } from './events.js';

// When a schedule fires: croner reads the cron in the schedule's time zone, daylight-saving changes included
// (a 02:30 tick on a spring-forward day fires once, at 03:00 local; a 01:30 tick on a fall-back day fires once,
// at the first 01:30). Everything here is pure: the time comes in as an argument.

/** Most missed ticks `catchUp: 'all'` runs after a downtime: the newest ones. */
export const maxCatchUp = 100;
/**
 * A tick less late than this is on time, not missed: it fires under every `catchUp`. It covers a timer that
 * fired late, a busy event loop, and a process starting just after a tick that the others are firing.
 */
export const onTimeMs = 60_000;

/** A cron in its zone, ready to compute ticks; throws croner's error for an invalid pattern or zone. */
export const parseCron = (cron: string, timezone: string): Cron => new Cron(cron, { timezone, paused: true });

/** Whether `timezone` is an IANA zone this runtime knows. */
export const isKnownTimezone = (timezone: string): boolean => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
};

/** The first tick strictly after `after`, or `undefined` when the cron never fires again. */
export const nextTick = (cron: Cron, after: Date): Date | undefined => cron.nextRun(after) ?? undefined;

/**
 * The ticks in `(from, to]`, oldest first; at most `limit`, the newest ones when there are more (found by walking
 * back from `to`, so a long downtime costs `limit` steps, not one per tick missed).
 */
export const ticksBetween = (cron: Cron, from: Date, to: Date, limit: number): Date[] => {
  const out: Date[] = [];
  // previousRuns is strict before its reference: start a millisecond after `to` so that `to` itself counts.
  let ref = new Date(to.getTime() + 1);
  while (out.length < limit) {
    const batch = cron.previousRuns(Math.min(limit - out.length, 50), ref);
    let done = batch.length === 0;
    for (const d of batch) {
      if (d.getTime() <= from.getTime()) {
        done = true;
        break;
      }
      out.push(d);
      ref = d;
    }
    if (done) break;
  }
  return out.reverse();
};

/**
 * Which of the due ticks (oldest first, none handled yet) to fire at `now`. On-time ticks always fire. Of the
 * missed ones: `none` fires none, `latest` one (the newest) unless an on-time tick already stands for them,
 * `all` every one, at most `maxCatchUp` in all.
 */
export const planTicks = (due: readonly Date[], now: Date, catchUp: CatchUp): Date[] => {
  const onTime = due.filter((d) => now.getTime() - d.getTime() < onTimeMs);
  const missed = due.filter((d) => now.getTime() - d.getTime() >= onTimeMs);
  switch (catchUp) {
    case 'none':
      return onTime;
    case 'latest':
      return onTime.length > 0 || missed.length === 0 ? onTime : [missed[missed.length - 1]!];
    case 'all':
      return [...missed, ...onTime].slice(-maxCatchUp);
  }
};

/** How long a timer may wait at once: Node fires a longer `setTimeout` at once (it overflows a 32-bit int). */
export const maxTimerMs = 2 ** 31 - 1;
