import * as t from 'io-ts';
import { JobId, PositiveInt } from '../job/index.js';

/** The body of a dispatch on `jobtrail.work.<queue>`: one attempt of one job. */
export const WorkMessage = t.type({ jobId: JobId, attempt: PositiveInt }, 'WorkMessage');
export type WorkMessage = t.TypeOf<typeof WorkMessage>;

/** Work queue name of a named queue. */
export const workQueueName = (queue: string): string => `jobtrail.work.${queue}`;
/** Where producers send enqueue commands (docs/architecture.md#the-wire-contract). */
export const enqueueQueueName = 'jobtrail.enqueue';
/** Where commands that could not be accepted go, with the reason in `x-jobtrail-error`. */
export const rejectedQueueName = 'jobtrail.enqueue.rejected';
