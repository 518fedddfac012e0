import * as t from 'io-ts';
import { IsoDate } from '../job/index.js';

// The events of a queue's control stream, `queue-<queue>` (docs/queues.md). Their type names are a public contract, as
// the job events' are: other languages and dashboards may read them. Times are ISO-8601 UTC.

const event = <T extends string, D extends t.Mixed>(type: T, data: D) => t.type({ type: t.literal(type), data }, type);

/** Who changed the queue, when, and why. */
const Stamp = t.intersection([t.type({ queue: t.string, at: IsoDate }), t.partial({ by: t.string, reason: t.string })]);

/** Every process stops taking work from the queue (within a second); enqueues still succeed, running jobs finish. */
export const QueuePaused = event('QueuePaused', Stamp);
/** Every process that runs a worker of the queue takes work from it again. */
export const QueueResumed = event('QueueResumed', Stamp);

export const QueueEvent = t.union([QueuePaused, QueueResumed], 'QueueEvent');
export type QueueEvent = t.TypeOf<typeof QueueEvent>;
export type QueueEventType = QueueEvent['type'];

/** The category of queue streams (the text before the first `-`). */
export const queueStreamPrefix = 'queue-';
/** `queue-<queue>`. */
export const queueStreamName = (queue: string): string => `${queueStreamPrefix}${queue}`;
/** The queue of a queue stream's name, or `undefined`. */
export const queueOfStream = (stream: string): string | undefined =>
  stream.startsWith(queueStreamPrefix) ? stream.slice(queueStreamPrefix.length) : undefined;
