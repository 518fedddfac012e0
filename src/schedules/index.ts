export {
  CatchUp,
  Overlap,
  runJobId,
  ScheduleEvent,
  scheduleIdOfStream,
  scheduleIdPattern,
  scheduleIdRule,
  scheduleStreamName,
  scheduleStreamPrefix,
} from './events.js';
export type { ScheduleEventType } from './events.js';
export { fold as foldSchedule, sameDefinition } from './state.js';
export type { ScheduleDefinition, ScheduleState, ScheduleStatus, ScheduleView, TickDecision } from './state.js';
export { isKnownTimezone, maxCatchUp, maxTimerMs, nextTick, onTimeMs, parseCron, planTicks, ticksBetween } from './ticks.js';
export { InvalidScheduleError, ScheduleNotFoundError } from './errors.js';
export { applyRecorded, decodeScheduleEvent, makeScheduleStore } from './scheduleStore.js';
export type { LoadedSchedule, ScheduleStore } from './scheduleStore.js';
export {
  enqueueRun,
  getSchedule,
  listSchedules,
  pauseSchedule,
  removeSchedule,
  resumeSchedule,
  triggerSchedule,
  upsertDeclaredSchedules,
  upsertSchedule,
  validateSchedule,
} from './schedules.js';
export type { ScheduleDeps, ScheduleInfo, ScheduleOptions, UpsertedSchedule } from './schedules.js';
export { startScheduler } from './scheduler.js';
export type { Scheduler } from './scheduler.js';
