import * as t from 'io-ts';

/** An ISO-8601 UTC timestamp as text, e.g. `2026-11-28T10:59:19.000Z`. */
export interface IsoDateBrand {
  readonly IsoDate: unique symbol;
}
const isoPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
/** The number written in `s` from `from` to `to` (digits only: the pattern checked that). */
const digits = (s: string, from: number, to: number): number => {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + s.charCodeAt(i) - 48;
  return n;
};
const daysInMonth = (year: number, month: number): number =>
  month === 2
    ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      ? 29
      : 28
    : month === 4 || month === 6 || month === 9 || month === 11
      ? 30
      : 31;
/**
 * The fields of a text that matches `isoPattern` are in range: the day exists
 * in its month, the time is 00:00:00–23:59:59, an offset is at most 23:59.
 * `Date.parse` alone rolls `2026-02-30` over to March 2 and takes hour 24,
 * which other languages reading the events refuse.
 */
const isCalendarTime = (s: string): boolean => {
  const month = digits(s, 5, 7);
  const day = digits(s, 8, 10);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(digits(s, 0, 4), month)) return false;
  if (digits(s, 11, 13) > 23 || digits(s, 14, 16) > 59 || digits(s, 17, 19) > 59) return false;
  const zone = s.charCodeAt(s.length - 1) === 90 /* Z */ ? undefined : s.length - 6;
  return zone === undefined || (digits(s, zone + 1, zone + 3) <= 23 && digits(s, zone + 4, zone + 6) <= 59);
};
/** Codec of an ISO-8601 timestamp with a time zone (`Z` or an offset). */
export const IsoDate = t.brand(t.string, (s): s is t.Branded<string, IsoDateBrand> => isoPattern.test(s) && isCalendarTime(s), 'IsoDate');
export type IsoDate = t.TypeOf<typeof IsoDate>;

/** Turns a `Date` into the `IsoDate` the events carry; throws a `RangeError` for an invalid date, as `toISOString` does. */
export const isoDate = (d: Date): IsoDate => d.toISOString() as IsoDate;

export interface JobIdBrand {
  readonly JobId: unique symbol;
}
/** What a job id may be, for messages. */
export const jobIdRule = '1–128 characters of [A-Za-z0-9._:@-]';
/** The pattern a job id must match (`jobIdRule`). */
export const jobIdPattern = /^[A-Za-z0-9._:@-]{1,128}$/;
/** What a named queue may be called, for messages. */
export const queueNameRule = '1–100 characters of [A-Za-z0-9._-]';
/** The pattern a queue name must match (`queueNameRule`); the broker's queue is `jobtrail.work.<queue>`. */
export const queueNamePattern = /^[A-Za-z0-9._-]{1,100}$/;
/** Codec of a job id (`jobIdRule`). */
export const JobId = t.brand(t.string, (s): s is t.Branded<string, JobIdBrand> => jobIdPattern.test(s), 'JobId');
export type JobId = t.TypeOf<typeof JobId>;

export interface PositiveIntBrand {
  readonly PositiveInt: unique symbol;
}
/** A positive integer (1, 2, …). */
export const PositiveInt = t.brand(t.number, (n): n is t.Branded<number, PositiveIntBrand> => Number.isInteger(n) && n >= 1, 'PositiveInt');
export type PositiveInt = t.TypeOf<typeof PositiveInt>;
/** A whole number ≥ 0. */
const NonNegativeInt = t.refinement(t.number, (n) => Number.isInteger(n) && n >= 0, 'NonNegativeInt');
const NonNegative = t.refinement(t.number, (n) => Number.isFinite(n) && n >= 0, 'NonNegative');
const Percent = t.refinement(t.number, (n) => Number.isFinite(n) && n >= 0 && n <= 100, 'Percent');

/** An error as recorded in `JobErrored`: whatever an action threw, normalised. */
export const ErrorInfo = t.intersection([t.type({ name: t.string, message: t.string }), t.partial({ stack: t.string })]);
export type ErrorInfo = t.TypeOf<typeof ErrorInfo>;

/** Why a job went back to `initial`. */
export const ResetReason = t.keyof({ retry: null, manual: null, recovered: null });
export type ResetReason = t.TypeOf<typeof ResetReason>;

/** When a continuation runs: `completed`, only if every parent completed (Hangfire's OnlyOnSucceededState); `finished`, once every parent is final, however it ended (OnAnyFinishedState). */
export const ContinuationOn = t.keyof({ completed: null, finished: null });
export type ContinuationOn = t.TypeOf<typeof ContinuationOn>;
/** Most parents one continuation may wait for. */
export const maxParents = 1000;
/** The parents of a continuation: 1 to `maxParents` job ids, each once. */
const ParentIds = t.refinement(
  t.array(JobId),
  (ids) => ids.length >= 1 && ids.length <= maxParents && new Set(ids).size === ids.length,
  'ParentIds',
);
/** The final statuses a parent is in when its continuation is released. */
export const FinalStatus = t.keyof({ completed: null, errored: null, cancelled: null });
export type FinalStatus = t.TypeOf<typeof FinalStatus>;

export const JobEnqueuedData = t.intersection([
  t.type({
    jobId: JobId,
    workerName: t.string,
    queue: t.string,
    payload: t.unknown,
    maxAttempts: PositiveInt,
    enqueuedAt: IsoDate,
  }),
  // scheduleId and fireTime: a recurring job's fire (its schedule, and the tick it is for).
  // after and on: a continuation, `awaiting` until its parents are final (docs/continuations.md).
  // maxInterruptions: how many interrupted attempts are retried (absent: `defaultMaxInterruptions`, 10).
  t.partial({
    runAt: IsoDate,
    priority: t.number,
    enqueuedBy: t.string,
    scheduleId: t.string,
    fireTime: IsoDate,
    after: ParentIds,
    on: ContinuationOn,
    maxInterruptions: NonNegativeInt,
  }),
]);
export const JobStartedData = t.type({
  attempt: PositiveInt,
  workerId: t.string,
  backgroundJobId: t.string,
  startedAt: IsoDate,
});
export const JobProgressedData = t.intersection([
  t.type({ attempt: PositiveInt, at: IsoDate }),
  t.partial({ percent: Percent, message: t.string }),
]);
export const JobCompletedData = t.intersection([
  t.type({ attempt: PositiveInt, completedAt: IsoDate, durationMs: NonNegative }),
  t.partial({ result: t.unknown }),
]);
export const JobErroredData = t.intersection([
  t.type({ attempt: PositiveInt, erroredAt: IsoDate, error: ErrorInfo }),
  // interrupted: the attempt was cut short by a shutdown (`Interrupted`) or its process went away
  // (`WorkerLost`); it is counted in `interruptions`, not against `maxAttempts`. Absent in events
  // recorded before it existed: those attempts counted as failures then, and still do.
  // actionRunning: the attempt timed out and its action had not returned when this was recorded (it ignores its
  // aborted signal); its process keeps the worker's slot until it returns, then records `JobActionReturned`.
  t.partial({ durationMs: NonNegative, retryAt: IsoDate, interrupted: t.boolean, actionRunning: t.boolean }),
]);
export const JobResetData = t.intersection([t.type({ at: IsoDate, reason: ResetReason }), t.partial({ by: t.string })]);
// attempt: set when the job was cancelled while an attempt ran (a `JobCancelRequested` for it, then this at its end).
export const JobCancelledData = t.intersection([
  t.type({ at: IsoDate }),
  t.partial({ reason: t.string, by: t.string, attempt: PositiveInt }),
]);
/** A cancel of the running attempt was asked for: its process aborts the action's signal; the attempt ends as `JobCancelled` (or `JobCompleted`, when the action still returns a result). */
export const JobCancelRequestedData = t.intersection([
  t.type({ attempt: PositiveInt, at: IsoDate }),
  t.partial({ reason: t.string, by: t.string }),
]);
/** A continuation leaves `awaiting`: every parent is final as `on` asks; with the status each parent was found in. */
export const JobReleasedData = t.type({ at: IsoDate, parents: t.array(t.type({ jobId: JobId, status: FinalStatus })) });
/** Recorded in a parent's stream: `childJobId` waits for it. Changes no status; the releaser reads a final parent's children. */
export const JobContinuationAddedData = t.type({ childJobId: JobId, at: IsoDate });
/** Retention or a person purged the final job: the last event of its stream, which is then deleted (docs/retention.md). */
export const JobPurgedData = t.intersection([t.type({ at: IsoDate }), t.partial({ reason: t.string, by: t.string })]);
/**
 * The action of an attempt that timed out while it ran on (`JobErrored` with `actionRunning`) has returned at last:
 * its process let the worker's slot go. Changes no status (docs/running.md#timed-out-still-running).
 */
export const JobActionReturnedData = t.type({ attempt: PositiveInt, at: IsoDate });

const event = <T extends string, D extends t.Mixed>(type: T, data: D) => t.type({ type: t.literal(type), data }, type);

export const JobEnqueued = event('JobEnqueued', JobEnqueuedData);
export type JobEnqueued = t.TypeOf<typeof JobEnqueued>;
export const JobStarted = event('JobStarted', JobStartedData);
export type JobStarted = t.TypeOf<typeof JobStarted>;
export const JobProgressed = event('JobProgressed', JobProgressedData);
export type JobProgressed = t.TypeOf<typeof JobProgressed>;
export const JobCompleted = event('JobCompleted', JobCompletedData);
export type JobCompleted = t.TypeOf<typeof JobCompleted>;
export const JobErrored = event('JobErrored', JobErroredData);
export type JobErrored = t.TypeOf<typeof JobErrored>;
export const JobReset = event('JobReset', JobResetData);
export type JobReset = t.TypeOf<typeof JobReset>;
export const JobCancelled = event('JobCancelled', JobCancelledData);
export type JobCancelled = t.TypeOf<typeof JobCancelled>;
export const JobCancelRequested = event('JobCancelRequested', JobCancelRequestedData);
export type JobCancelRequested = t.TypeOf<typeof JobCancelRequested>;
export const JobReleased = event('JobReleased', JobReleasedData);
export type JobReleased = t.TypeOf<typeof JobReleased>;
export const JobContinuationAdded = event('JobContinuationAdded', JobContinuationAddedData);
export type JobContinuationAdded = t.TypeOf<typeof JobContinuationAdded>;
export const JobPurged = event('JobPurged', JobPurgedData);
export type JobPurged = t.TypeOf<typeof JobPurged>;
export const JobActionReturned = event('JobActionReturned', JobActionReturnedData);
export type JobActionReturned = t.TypeOf<typeof JobActionReturned>;

/** Every event of a job stream. The `type` literals are a public contract: projections, dashboards and other languages read them. */
export const JobEvent = t.union(
  [
    JobEnqueued,
    JobStarted,
    JobProgressed,
    JobCompleted,
    JobErrored,
    JobReset,
    JobCancelled,
    JobReleased,
    JobContinuationAdded,
    JobCancelRequested,
    JobPurged,
    JobActionReturned,
  ],
  'JobEvent',
);
export type JobEvent = t.TypeOf<typeof JobEvent>;
export type JobEventType = JobEvent['type'];

/** The ten event type names, as a companion object of `JobEventType`. */
export const JobEventTypes = {
  JobEnqueued: 'JobEnqueued',
  JobStarted: 'JobStarted',
  JobProgressed: 'JobProgressed',
  JobCompleted: 'JobCompleted',
  JobErrored: 'JobErrored',
  JobReset: 'JobReset',
  JobCancelled: 'JobCancelled',
  JobReleased: 'JobReleased',
  JobContinuationAdded: 'JobContinuationAdded',
  JobCancelRequested: 'JobCancelRequested',
  JobPurged: 'JobPurged',
  JobActionReturned: 'JobActionReturned',
} as const satisfies { [K in JobEventType]: K };

/** True when `type` is one of the ten job event types. */
export const isJobEventType = (type: string): type is JobEventType => Object.hasOwn(JobEventTypes, type);

/** The time an event records as its own (`enqueuedAt`, `startedAt`, …, or `at`). */
export const eventTime = (e: JobEvent): IsoDate => {
  switch (e.type) {
    case 'JobEnqueued':
      return e.data.enqueuedAt;
    case 'JobStarted':
      return e.data.startedAt;
    case 'JobCompleted':
      return e.data.completedAt;
    case 'JobErrored':
      return e.data.erroredAt;
    case 'JobProgressed':
    case 'JobReset':
    case 'JobCancelled':
    case 'JobReleased':
    case 'JobContinuationAdded':
    case 'JobCancelRequested':
    case 'JobPurged':
    case 'JobActionReturned':
      return e.data.at;
  }
};
