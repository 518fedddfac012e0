import { setTimeout as wait } from 'node:timers/promises';
import { setMaxListeners } from 'node:events';
import { sleep } from './sleep.js';
import type { ConsumeMessage, MessagePropertyHeaders, Options } from 'amqplib';
import { Dispositions, type Consumer } from '../broker.js';
import type { RawHandler } from './consumer.js';
import { delayDueHeader, delayExpiredQueueName, delayQueueName, delayTargetHeader, planDelayHop } from './delayHops.js';
import { copyProperties } from './properties.js';
import { QueueDeclarationError } from './queueDeclaration.js';

export interface DelayRouterDeps {
  /** Consumes a queue with the adapter's own consumer (reconnects, acks on the delivering channel). */
  readonly consume: (queue: string, handler: RawHandler, options: { readonly prefetch: number }) => Promise<Consumer>;
  /** Declares `queue` if needed and publishes to it; resolves on the broker's confirm. */
  readonly forward: (queue: string, content: Buffer, options: Options.Publish) => Promise<void>;
  readonly now: () => number;
  readonly onWarning: (message: string, cause?: unknown) => void;
  /** Messages held unacked at once; also how many sub-second waits can run together. */
  readonly prefetch: number;
  /** Pause before trying a failed forward again, so a broken target is not retried in a tight loop. */
  readonly retryPauseMs: number;
}

const deathHeaders = [
  'x-death',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
  'x-last-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
];

const withoutHeaders = (headers: MessagePropertyHeaders | undefined, names: readonly string[]): Record<string, unknown> => {
  const out: Record<string, unknown> = { ...(headers ?? {}) };
  for (const name of names) delete out[name];
  return out;
};

/**
 * The properties to publish a delayed message with on its next hop: the
 * original ones, which RabbitMQ keeps when it dead-letters a message (only
 * adding `x-death` and `x-first-death-*` headers, removed here so that they
 * do not pile up over many hops).
 */
const nextProperties = (raw: ConsumeMessage, headers: Record<string, unknown>): Options.Publish => copyProperties(raw.properties, headers);

/**
 * Starts the delay router: it consumes `jobtrail.delay.expired`, where every
 * delay queue dead-letters what expired, and sends each message on to its
 * next delay level or, when it is due, to its target queue (see
 * `delayHops.ts`). It runs in every process that has a RabbitMQ broker;
 * several routers share the queue.
 *
 * A message is acked only after its next hop is confirmed, so it is always in
 * some durable queue: a crash in between sends it on twice (a duplicate the
 * engine tolerates), never zero times. A hop RabbitMQ does not confirm is
 * tried again after a pause, the message held meanwhile. A message that is not a delayed one
 * (no target or due header), or whose target cannot be declared, is
 * dead-lettered to `jobtrail.delay.expired.dead` with the reason.
 */
export const runDelayRouter = async (deps: DelayRouterDeps): Promise<{ stop(): Promise<void> }> => {
  const stopping = new AbortController();
  // Every message held (at most prefetch) may be waiting on it: no leak warning for those.
  setMaxListeners(deps.prefetch + 10, stopping.signal);

  const handle: RawHandler = async (delivery, raw) => {
    const headers = raw.properties.headers;
    const target: unknown = headers?.[delayTargetHeader];
    const due: unknown = headers?.[delayDueHeader];
    if (typeof target !== 'string' || target === '' || typeof due !== 'number' || !Number.isFinite(due)) {
      return Dispositions.deadLetter(
        `not a jobtrail delayed message: it needs header ${delayTargetHeader} (a queue name) and ${delayDueHeader} (epoch milliseconds); got ${JSON.stringify(target)} and ${JSON.stringify(due)}`,
      );
    }
    for (;;) {
      let hop = planDelayHop(due - deps.now());
      // Under a second left: wait here, holding the message unacked (a crash
      // gives it back to another router), rather than up to a second more in
      // the 1 s queue.
      while (hop._tag === 'Wait') {
        // Rejects when the router stops: the message is then given back.
        await wait(hop.ms, undefined, { signal: stopping.signal });
        hop = planDelayHop(due - deps.now());
      }
      const [queue, properties] =
        hop._tag === 'Deliver'
          ? [target, nextProperties(raw, withoutHeaders(headers, [...deathHeaders, delayTargetHeader, delayDueHeader]))]
          : [delayQueueName(hop.level), nextProperties(raw, withoutHeaders(headers, deathHeaders))];
      try {
        await deps.forward(queue, raw.content, properties);
        return Dispositions.ack;
      } catch (err) {
        if (err instanceof QueueDeclarationError) {
          return Dispositions.deadLetter(`cannot deliver the delayed message to "${queue}": ${err.message}`);
        }
        // Kept and tried again (its next hop planned anew), not handed back: a message handed back
        // counts as a failed delivery on the quorum queue jobtrail.delay.expired, and RabbitMQ 4.0 to
        // 4.2 drop one handed back 20 times (their default delivery-limit).
        deps.onWarning(`delay router: could not move a message on to "${queue}"; trying again in ${deps.retryPauseMs} ms`, err);
        await sleep(deps.retryPauseMs, stopping.signal);
        // Stopping, or its channel closed (RabbitMQ has given it to another router): let it go back.
        if (stopping.signal.aborted || delivery.lost?.aborted) return Dispositions.requeue;
      }
    }
  };

  const consumer = await deps.consume(delayExpiredQueueName, handle, { prefetch: deps.prefetch });
  return {
    stop: async () => {
      // Waits end at once and give their message back; another router (or this one, restarted) takes them.
      stopping.abort();
      await consumer.stop();
    },
  };
};
