import type { QueueEvent } from './events.js';

/** A queue's control state: the fold of its `queue-<queue>` stream. No stream: not paused. */
export interface QueueControl {
  readonly queue: string;
  readonly paused: boolean;
  /** The last change (`QueuePaused` or `QueueResumed`): when, who, why. */
  readonly changedAt?: string;
  readonly by?: string;
  readonly reason?: string;
}

/** A queue nobody paused: what a fold starts from. */
export const openQueue = (queue: string): QueueControl => ({ queue, paused: false });

/** One event applied to the state. The write side decided the events; this trusts them. */
export const evolve = (s: QueueControl, e: QueueEvent): QueueControl => ({
  queue: s.queue,
  paused: e.type === 'QueuePaused',
  changedAt: e.data.at,
  ...(e.data.by !== undefined ? { by: e.data.by } : {}),
  ...(e.data.reason !== undefined ? { reason: e.data.reason } : {}),
});

/** The state after `events`, from `from` (default: a queue nobody paused). */
export const fold = (queue: string, events: readonly QueueEvent[], from: QueueControl = openQueue(queue)): QueueControl =>
  events.reduce(evolve, from);
