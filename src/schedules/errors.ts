import { brandClass, ErrorCodes, JobtrailError } from '../errors/index.js';

/** A schedule refused at upsert (a bad cron, an unknown time zone, a payload its worker refuses, …); nothing was recorded. */
export class InvalidScheduleError extends JobtrailError {
  static {
    brandClass(this, 'InvalidScheduleError');
  }
  constructor(message: string) {
    super(ErrorCodes.InvalidSchedule, message);
    this.name = 'InvalidScheduleError';
  }
}

/** No such schedule (never set, or removed). */
export class ScheduleNotFoundError extends JobtrailError {
  static {
    brandClass(this, 'ScheduleNotFoundError');
  }
  constructor(readonly scheduleId: string) {
    super(ErrorCodes.ScheduleNotFound, `no schedule "${scheduleId}" (never set, or removed); jobtrail schedule list shows the schedules`);
    this.name = 'ScheduleNotFoundError';
  }
}
