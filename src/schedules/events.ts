import * as t from 'io-ts';
import { IsoDate } from '../job/index.js';

// The events of a schedule stream, `schedule-<scheduleId>`. Their type names are a public contract, as the job
// events' are: other languages and dashboards may read them. Times are ISO-8601 UTC.

/** What to do with the ticks every process missed (docs/recurring.md#missed-ticks). */
export const CatchUp = t.keyof({ none: null, latest: null, all: null }, 'CatchUp');
export type CatchUp = t.TypeOf<typeof CatchUp>;

/** Whether a tick may start a run while the previous run is unfinished. */
export const Overlap = t.keyof({ allow: null, skip: null }, 'Overlap');
export type Overlap = t.TypeOf<typeof Overlap>;

const event = <T extends string, D extends t.Mixed>(type: T, data: D) => t.type({ type: t.literal(type), data }, type);

/** The schedule's whole definition: every `ScheduleSet` replaces the one before (an upsert). */
export const ScheduleSetData = t.intersection([
  t.type({
    scheduleId: t.string,
    cron: t.string,
    /** An IANA zone; `UTC` when none was given, so that every process reads the cron alike whatever its own zone. */
    timezone: t.string,
    workerName: t.string,
    payload: t.unknown,
    catchUp: CatchUp,
    overlap: Overlap,
    at: IsoDate,
  }),
  t.partial({ queue: t.string, maxAttempts: t.number }),
]);
export type ScheduleSetData = t.TypeOf<typeof ScheduleSetData>;

const Stamp = t.type({ scheduleId: t.string, at: IsoDate });

export const ScheduleSet = event('ScheduleSet', ScheduleSetData);
export const SchedulePaused = event('SchedulePaused', Stamp);
export const ScheduleResumed = event('ScheduleResumed', Stamp);
export const ScheduleRemoved = event('ScheduleRemoved', Stamp);
/** A run started by hand ("trigger now"), outside the cron. */
export const ScheduleTriggered = event(
  'ScheduleTriggered',
  t.type({ scheduleId: t.string, jobId: t.string, fireTime: IsoDate, at: IsoDate }),
);
/**
 * `overlap: 'skip'` only: this tick runs, as job `jobId`. The append at the stream's revision is what makes the
 * decision one for every process (docs/recurring.md#overlap).
 */
export const ScheduleTickFired = event(
  'ScheduleTickFired',
  t.type({ scheduleId: t.string, fireTime: IsoDate, jobId: t.string, at: IsoDate }),
);
/** `overlap: 'skip'` only: this tick did not run, because `runningJobId` was unfinished. */
export const ScheduleTickSkipped = event(
  'ScheduleTickSkipped',
  t.type({ scheduleId: t.string, fireTime: IsoDate, runningJobId: t.string, at: IsoDate }),
);

export const ScheduleEvent = t.union(
  [ScheduleSet, SchedulePaused, ScheduleResumed, ScheduleRemoved, ScheduleTriggered, ScheduleTickFired, ScheduleTickSkipped],
  'ScheduleEvent',
);
export type ScheduleEvent = t.TypeOf<typeof ScheduleEvent>;
export type ScheduleEventType = ScheduleEvent['type'];

/** The category of schedule streams (the text before the first `-`). */
export const scheduleStreamPrefix = 'schedule-';
/** `schedule-<scheduleId>`. */
export const scheduleStreamName = (scheduleId: string): string => `${scheduleStreamPrefix}${scheduleId}`;
/** The schedule id of a schedule stream's name, or `undefined`. */
export const scheduleIdOfStream = (stream: string): string | undefined =>
  stream.startsWith(scheduleStreamPrefix) ? stream.slice(scheduleStreamPrefix.length) : undefined;

/** What a schedule id may be, for messages. No `@`: it joins the id and the fire time in a run's job id. */
export const scheduleIdRule = '1–103 characters of [A-Za-z0-9._:-]';
/** 103 = 128 (a job id) − 25 (`@` and a 24-character ISO time), so every run's job id is a valid job id. */
export const scheduleIdPattern = /^[A-Za-z0-9._:-]{1,103}$/;

/** The job id of a schedule's run at `fireTime`: `<scheduleId>@<ISO time>`. Every process derives the same one. */
export const runJobId = (scheduleId: string, fireTime: Date): string => `${scheduleId}@${fireTime.toISOString()}`;
