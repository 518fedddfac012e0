import { brandClass } from './brand.js';

/**
 * The stable codes of jobtrail's errors: match on `error.code`, never on the
 * message (which says what was wrong, with the value, for a person to read).
 */
export const ErrorCodes = {
  /** A worker's declaration is unusable, or two workers share a name, or a workers module exports none. */
  InvalidWorker: 'INVALID_WORKER',
  /** Thrown by an action to fail its job for good. */
  NonRetryable: 'NON_RETRYABLE',
  /** An enqueue was refused (unknown worker, bad payload or options; or the store or broker was unavailable: see `reason`). */
  EnqueueRejected: 'ENQUEUE_REJECTED',
  /** Some jobs of an `enqueueMany` were not enqueued; `outcomes` says which. */
  EnqueuePartlyFailed: 'ENQUEUE_PARTLY_FAILED',
  /** No such job. */
  JobNotFound: 'JOB_NOT_FOUND',
  /** The state machine refused a manual action (cancelling a completed job, say). */
  TransitionRejected: 'TRANSITION_REJECTED',
  /** The event store could not be read or written; nothing was changed by the failed call. */
  StoreUnavailable: 'STORE_UNAVAILABLE',
  /**
   * The event store refused the credentials (EventStoreDB's AccessDenied): a configuration error, not an outage. Retrying
   * does not help; fix the credentials in the connection string or the server's access settings.
   */
  StoreAccessDenied: 'STORE_ACCESS_DENIED',
  /** The event store's server is too old for jobtrail (EventStoreDB before 22.6 gives no positions on stream reads). */
  StoreUnsupported: 'STORE_UNSUPPORTED',
  /** The broker could not be reached or did not confirm. */
  BrokerUnavailable: 'BROKER_UNAVAILABLE',
  /**
   * The store's jobs are dispatched by a broker of another kind than this engine's (the store remembers it:
   * docs/running.md#the-store-remembers-its-broker); nothing was recorded. Use that broker, or switch the store deliberately.
   */
  BrokerMismatch: 'BROKER_MISMATCH',
  /** A published message was refused by the broker (nacked, unroutable) or not confirmed. */
  PublishFailed: 'PUBLISH_FAILED',
  /** The broker refused a queue's declaration (its name or arguments). */
  QueueDeclaration: 'QUEUE_DECLARATION',
  /** A setting (an environment variable, a URL, a dashboard binding) is invalid. */
  InvalidConfig: 'INVALID_CONFIG',
  /** A producer's enqueue command was refused by the conductor. */
  CommandRejected: 'COMMAND_REJECTED',
  /** A producer's command was not taken or not answered in time. */
  ProducerFailed: 'PRODUCER_FAILED',
  /** An event in the store no longer decodes: a defect, with its stream and revision. */
  UndecodableEvent: 'UNDECODABLE_EVENT',
  /** A projection's source does not load. */
  InvalidProjection: 'INVALID_PROJECTION',
  /** A projection's state is not what it should hold: a defect. */
  InvalidProjectionState: 'INVALID_PROJECTION_STATE',
  /** A projection did not reach an awaited state in time. */
  ProjectionTimeout: 'PROJECTION_TIMEOUT',
  ProjectionNotInstalled: 'PROJECTION_NOT_INSTALLED',
  /** A page cursor that this store did not give out. */
  InvalidCursor: 'INVALID_CURSOR',
  /** A wait (`waitForFinal`) ran out of time. */
  Timeout: 'TIMEOUT',
  /** A schedule was refused at upsert (bad cron, unknown time zone, a payload its worker refuses); nothing was recorded. */
  InvalidSchedule: 'INVALID_SCHEDULE',
  /** No such schedule (never set, or removed). */
  ScheduleNotFound: 'SCHEDULE_NOT_FOUND',
  /** A queue name that is not one (pause, resume): nothing was recorded. */
  InvalidQueue: 'INVALID_QUEUE',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * The base of every error jobtrail throws: `code` is stable, `cause` (when
 * set) is the underlying error. `instanceof JobtrailError` and each
 * subclass's `instanceof` hold across copies of the library.
 */
export class JobtrailError extends Error {
  static {
    brandClass(this, 'JobtrailError');
  }
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
    this.name = 'JobtrailError';
  }
}

/** Whether `value` is a jobtrail error (of any copy of the library), and of `code` when given. */
export const isJobtrailError = (value: unknown, code?: ErrorCode): value is JobtrailError =>
  value instanceof JobtrailError && (code === undefined || value.code === code);

/**
 * The store refuses this process for a reason no retry mends (no access, a
 * server too old): every message would fail alike, so work is kept, never
 * dead-lettered, and the person on call reads the fix in the message.
 */
export const isStoreConfigurationError = (value: unknown): value is JobtrailError =>
  isJobtrailError(value, ErrorCodes.StoreAccessDenied) || isJobtrailError(value, ErrorCodes.StoreUnsupported);

/** The event store could not be read or written. Retry later; the call changed nothing it reports as failed. */
export class StoreUnavailableError extends JobtrailError {
  static {
    brandClass(this, 'StoreUnavailableError');
  }
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(ErrorCodes.StoreUnavailable, message, options);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * The event store refused the credentials (or their absence): a configuration error, never an outage, so it is not
 * retried. The message says how to fix it.
 */
export class StoreAccessDeniedError extends JobtrailError {
  static {
    brandClass(this, 'StoreAccessDeniedError');
  }
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(ErrorCodes.StoreAccessDenied, message, options);
    this.name = 'StoreAccessDeniedError';
  }
}

/** The event store's server lacks what jobtrail needs (a version too old); the message says which version is needed. */
export class StoreUnsupportedError extends JobtrailError {
  static {
    brandClass(this, 'StoreUnsupportedError');
  }
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(ErrorCodes.StoreUnsupported, message, options);
    this.name = 'StoreUnsupportedError';
  }
}

/** The broker could not be reached, or did not take a message. */
export class BrokerUnavailableError extends JobtrailError {
  static {
    brandClass(this, 'BrokerUnavailableError');
  }
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(ErrorCodes.BrokerUnavailable, message, options);
    this.name = 'BrokerUnavailableError';
  }
}

/** A wait ran out of time. */
export class TimeoutError extends JobtrailError {
  static {
    brandClass(this, 'TimeoutError');
  }
  constructor(message: string) {
    super(ErrorCodes.Timeout, message);
    this.name = 'TimeoutError';
  }
}
