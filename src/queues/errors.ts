import { brandClass, ErrorCodes, JobtrailError } from '../errors/index.js';

/** A queue name that is not one (pause, resume); nothing was recorded. */
export class InvalidQueueError extends JobtrailError {
  static {
    brandClass(this, 'InvalidQueueError');
  }
  constructor(message: string) {
    super(ErrorCodes.InvalidQueue, message);
    this.name = 'InvalidQueueError';
  }
}
