import type { CatchUp, Overlap, ScheduleEvent } from './events.js';

/** A schedule's status: `removed` keeps the stream (the record), and a later `ScheduleSet` brings it back. */
export type ScheduleStatus = 'active' | 'paused' | 'removed';

/** The schedule's definition: what a `ScheduleSet` carries, less its time. */
export interface ScheduleDefinition {
  readonly scheduleId: string;
  readonly cron: string;
  readonly timezone: string;
  readonly workerName: string;
  readonly payload: unknown;
  readonly catchUp: CatchUp;
  readonly overlap: Overlap;
  readonly queue?: string;
  readonly maxAttempts?: number;
}

/** A tick decided on the stream (`overlap: 'skip'` schedules): run as `jobId`, or skipped because `runningJobId` was unfinished. */
export type TickDecision =
  | { readonly fireTime: string; readonly outcome: 'fired'; readonly jobId: string }
  | { readonly fireTime: string; readonly outcome: 'skipped'; readonly runningJobId: string };

/** The fold of a schedule stream. */
export interface ScheduleView extends ScheduleDefinition {
  readonly status: ScheduleStatus;
  /** When the definition was last set. */
  readonly setAt: string;
  /** When the schedule last became active (set or resumed): ticks before it are not its to fire, nor to catch up. */
  readonly activeSince: string;
  /** The newest tick decided on the stream (`overlap: 'skip'` only). */
  readonly lastDecision?: TickDecision;
  /** The newest tick that ran, as decided on the stream (`overlap: 'skip'` only). */
  readonly lastFired?: { readonly fireTime: string; readonly jobId: string };
  /** The newest run started by hand. */
  readonly lastTriggered?: { readonly fireTime: string; readonly jobId: string };
  /** Ticks recorded as skipped, in all. */
  readonly skippedTicks: number;
}

/** `undefined`: no stream (or only events that need a `ScheduleSet` first, which `evolve` ignores). */
export type ScheduleState = ScheduleView | undefined;

const definitionOf = (d: ScheduleDefinition): ScheduleDefinition => ({
  scheduleId: d.scheduleId,
  cron: d.cron,
  timezone: d.timezone,
  workerName: d.workerName,
  payload: d.payload,
  catchUp: d.catchUp,
  overlap: d.overlap,
  ...(d.queue !== undefined ? { queue: d.queue } : {}),
  ...(d.maxAttempts !== undefined ? { maxAttempts: d.maxAttempts } : {}),
});

/** One event applied to the state. The write side decided the events; this trusts them. */
export const evolve = (s: ScheduleState, e: ScheduleEvent): ScheduleState => {
  if (e.type === 'ScheduleSet') {
    // A set after a removal starts afresh; a set of a live schedule keeps its pause and its record of ticks.
    const keep = s !== undefined && s.status !== 'removed' ? s : undefined;
    const status = keep?.status ?? 'active';
    return {
      ...definitionOf(e.data),
      status,
      setAt: e.data.at,
      activeSince: status === 'active' ? e.data.at : (keep?.activeSince ?? e.data.at),
      skippedTicks: keep?.skippedTicks ?? 0,
      ...(keep?.lastDecision !== undefined ? { lastDecision: keep.lastDecision } : {}),
      ...(keep?.lastFired !== undefined ? { lastFired: keep.lastFired } : {}),
      ...(keep?.lastTriggered !== undefined ? { lastTriggered: keep.lastTriggered } : {}),
    };
  }
  if (s === undefined) return s;
  switch (e.type) {
    case 'SchedulePaused':
      return { ...s, status: 'paused' };
    case 'ScheduleResumed':
      return { ...s, status: 'active', activeSince: e.data.at };
    case 'ScheduleRemoved':
      return { ...s, status: 'removed' };
    case 'ScheduleTriggered':
      return { ...s, lastTriggered: { fireTime: e.data.fireTime, jobId: e.data.jobId } };
    case 'ScheduleTickFired':
      return {
        ...s,
        lastDecision: { fireTime: e.data.fireTime, outcome: 'fired', jobId: e.data.jobId },
        lastFired: { fireTime: e.data.fireTime, jobId: e.data.jobId },
      };
    case 'ScheduleTickSkipped':
      return {
        ...s,
        lastDecision: { fireTime: e.data.fireTime, outcome: 'skipped', runningJobId: e.data.runningJobId },
        skippedTicks: s.skippedTicks + 1,
      };
  }
};

/** The state after `events`, from `from` (default: no stream). */
export const fold = (events: readonly ScheduleEvent[], from: ScheduleState = undefined): ScheduleState => events.reduce(evolve, from);

/** Whether two definitions would fire the same runs: an upsert of an equal one records nothing. */
export const sameDefinition = (a: ScheduleDefinition, b: ScheduleDefinition): boolean =>
  JSON.stringify(definitionOf(a)) === JSON.stringify(definitionOf(b));
