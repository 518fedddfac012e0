/**
 * Delayed delivery without a server plugin: a fixed set of delay
 * queues `jobtrail.delay.quorum.<level>`, each holding messages for 2^level
 * seconds (a per-queue `x-message-ttl`, so the head always expires first),
 * then dead-lettering them to `jobtrail.delay.expired`, where the adapter's
 * delay router sends each one on: to the largest level not longer than its
 * remaining delay, or, when it is due, to its target queue. Remaining delays
 * under a second are waited out in the router's process. Every hop is no
 * longer than what remains, so a message is never delivered early; a delay
 * needs at most one hop per level (23 for the longest), and lateness does not
 * add up across hops because each one is planned from the absolute due time.
 *
 * The delay queues are quorum queues that dead-letter at least once: RabbitMQ
 * keeps an expired message until `jobtrail.delay.expired` (a quorum queue
 * too) has confirmed it, so a crash of the node while messages expire loses
 * none (it may repeat a few, which the engine tolerates); while that queue
 * does not exist, they keep it and try again later. Classic queues
 * dead-letter at most once: a node killed with SIGKILL during expiry lost 846
 * to 33,615 of 50,000 expiring messages on RabbitMQ 3.10 (three runs),
 * which is why these are quorum queues.
 *
 * This file is the pure arithmetic and the names; `delayRouter.ts` does the moving.
 */

/** The longest level: 2^22 s ≈ 48.5 days, just under RabbitMQ's `x-message-ttl` limit of 2^32 − 1 ms. Longer delays hop through it again. */
export const maxDelayLevel = 22;

/** The TTL of delay level `level`: 2^level seconds, in milliseconds. */
export const delayLevelTtlMs = (level: number): number => 2 ** level * 1000;

/** The queue of delay level `level` (`jobtrail.delay.quorum.0` holds 1 s … `jobtrail.delay.quorum.22` holds 2^22 s). */
export const delayQueueName = (level: number): string => `jobtrail.delay.quorum.${level}`;

/** Where every delay queue dead-letters its expired messages; the delay router consumes it. */
export const delayExpiredQueueName = 'jobtrail.delay.expired';

/** Header naming the queue a delayed message is for. */
export const delayTargetHeader = 'x-jobtrail-delay-target';
/** Header with the due time of a delayed message, in milliseconds since the epoch (the publisher's clock). */
export const delayDueHeader = 'x-jobtrail-delay-due';

/** What to do next with a delayed message, given how long it still has to wait. */
export type DelayHop =
  /** Due: publish it to its target queue. */
  | { readonly _tag: 'Deliver' }
  /** Under a second left: wait `ms` in-process, then deliver. */
  | { readonly _tag: 'Wait'; readonly ms: number }
  /** Put it in delay queue `level`, which holds it `ttlMs` (never more than what remains). */
  | { readonly _tag: 'Hop'; readonly level: number; readonly ttlMs: number };

/**
 * The next hop of a message that must wait `remainingMs` more (≤ 0: due).
 * The largest level whose TTL is at most `remainingMs`, capped at `maxLevel`
 * (default: `maxDelayLevel`).
 */
export const planDelayHop = (remainingMs: number, maxLevel: number = maxDelayLevel): DelayHop => {
  if (Number.isNaN(remainingMs)) throw new RangeError('planDelayHop: remainingMs is NaN');
  if (remainingMs <= 0) return { _tag: 'Deliver' };
  if (remainingMs < delayLevelTtlMs(0)) return { _tag: 'Wait', ms: Math.ceil(remainingMs) };
  let level = 0;
  while (level < maxLevel && delayLevelTtlMs(level + 1) <= remainingMs) level += 1;
  return { _tag: 'Hop', level, ttlMs: delayLevelTtlMs(level) };
};

/**
 * Every hop of a `delayMs` delay if each took exactly its TTL: the route the
 * router follows when nothing is late. For tests and for explaining a delay.
 */
export const planDelayRoute = (delayMs: number, maxLevel: number = maxDelayLevel): readonly DelayHop[] => {
  const route: DelayHop[] = [];
  let remaining = delayMs;
  for (;;) {
    const hop = planDelayHop(remaining, maxLevel);
    route.push(hop);
    if (hop._tag === 'Deliver') return route;
    remaining -= hop._tag === 'Hop' ? hop.ttlMs : hop.ms;
  }
};
