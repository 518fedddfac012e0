import type { JobView } from '../job/index.js';
import type { AttemptOutcome } from '../worker/execute.js';

/**
 * What the engine tells an observer (the Prometheus metrics of src/metrics/, docs/metrics.md) at the points where a
 * job moves in this process. Every member is optional and called synchronously: an observer must be cheap and must
 * not throw (the engine does not catch for it). The engine holds none when metrics are off: each point then costs one
 * `undefined` check.
 */
export interface JobObserver {
  /** `JobEnqueued` was appended by this process (a new job; an enqueue of an existing id is not one). */
  enqueued?(job: JobView): void;
  /**
   * `JobStarted` of an attempt was appended by this process; `job` is the view after it. The function returned (if
   * any) is called once, when the attempt ends here, with how it ended (`undefined`: the engine failed, a defect).
   */
  attemptStarted?(job: JobView): ((outcome: AttemptOutcome | undefined) => void) | undefined;
  /** This process recorded `WorkerLost` for an attempt of a process that is gone (a redelivery, recovery, the sweep). */
  lost?(job: JobView): void;
  /** A job that was not running was cancelled by this process (`JobCancelled` from `initial`, `awaiting` or `errored`). */
  cancelled?(job: JobView): void;
}
