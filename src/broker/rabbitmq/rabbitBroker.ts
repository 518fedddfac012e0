import * as E from 'fp-ts/lib/Either.js';
import type { TaskEither } from 'fp-ts/lib/TaskEither.js';
import type { Broker, BrokerUnavailable, Consumer, ReplyChannel } from '../broker.js';
import { checkQueueName, refuseDirectReplyTo } from '../topology.js';
import { runConsumer, type ConsumerDeps } from './consumer.js';
import { runDelayRouter } from './delayRouter.js';
import { publishProperties } from './properties.js';
import { makePublisher } from './publisher.js';
import { QueueDeclarationError } from './queueDeclaration.js';
import { describe, makeRabbitConnection } from './rabbitConnection.js';
import { openReplyChannel, type ReplyChannelDeps } from './replyChannel.js';

/** Options of `makeRabbitBroker`. */
export interface RabbitBrokerOptions {
  /** `amqp://user:password@host:5672/vhost` or `amqps://…`. The password never appears in logs or errors. */
  readonly url: string;
  /**
   * How long `publish` and `reply` wait, in all, for the connection (while it
   * is down), the queue's declaration and the broker's confirm before they
   * fail with `BrokerUnavailable`; also how long `consume` and
   * `openReplyChannel` wait for their first attach. Default: 10 000.
   */
  readonly timeoutMs?: number;
  /** AMQP heartbeat in seconds, unless the URL has `?heartbeat=`. Default: 10. */
  readonly heartbeatSeconds?: number;
  /** First delay before reconnecting (and before reopening a closed consumer channel); doubles per failure. Default: 200. */
  readonly minReconnectDelayMs?: number;
  /** Longest delay between reconnection attempts. Default: 5 000. */
  readonly maxReconnectDelayMs?: number;
  /**
   * Run the delay router in this process (see `delayRouter.ts`). Delayed
   * messages reach their queue only while at least one process runs it.
   * Default: true.
   */
  readonly delayRouter?: boolean;
  /** Delayed messages the router holds at once. Default: 256. */
  readonly delayRouterPrefetch?: number;
  /** Shown by `rabbitmqctl list_connections client_properties`. Default: `jobtrail <host>:<pid>`. */
  readonly connectionName?: string;
  /** Hears what the adapter recovered from (a lost connection, a closed channel). Default: `console.warn`. */
  readonly onWarning?: (message: string, cause?: unknown) => void;
}

const published: E.Either<never, void> = E.right(undefined);

/**
 * The RabbitMQ broker (`amqp://…`, `amqps://…`), on amqplib. Connects before
 * it resolves (an unreachable broker is an error naming the URL without its
 * password), then reconnects by itself.
 *
 * - Topology is declared on first use of a queue: `jobtrail.work.*`,
 *   the delay queues and `jobtrail.delay.expired` as quorum queues, everything
 *   else as durable classic queues (`queueDeclaration`).
 * - Every publish is persistent and `mandatory` on a ConfirmChannel and
 *   resolves only on the broker's confirm; a nack, a return (no such queue),
 *   a closed connection or the timeout is `BrokerUnavailable`. While the
 *   connection is down, publishes wait for it up to `timeoutMs`.
 * - Each consumer has its own channel with `prefetch`, acks manually, and
 *   settles a delivery only on the channel that received it, once its
 *   handler decided. Acks decided in one turn of the event loop leave
 *   together at its end, as one `multiple` ack where the delivery tags allow.
 *   When that channel or the connection goes, RabbitMQ gives the unsettled
 *   deliveries to other consumers (redelivered), their `lost` signal is
 *   aborted, and the consumer reattaches on a new channel.
 * - `delayMs` goes through the delay queues (`delayHops.ts`) and the delay
 *   router, no server plugin needed.
 * - Reply channels use direct reply-to (`amq.rabbitmq.reply-to`); replies to
 *   requests sent before a reconnection are lost (the address named the old
 *   channel), as they would be with any RPC over a dropped connection.
 */
export const makeRabbitBroker = async (options: RabbitBrokerOptions): Promise<Broker> => {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const minDelay = options.minReconnectDelayMs ?? 200;
  const maxDelay = options.maxReconnectDelayMs ?? 5_000;
  const onWarning = options.onWarning ?? ((message: string, cause?: unknown) => console.warn(`jobtrail broker: ${message}`, cause ?? ''));
  const connection = await makeRabbitConnection({
    url: options.url,
    heartbeatSeconds: options.heartbeatSeconds,
    minReconnectDelayMs: minDelay,
    maxReconnectDelayMs: maxDelay,
    connectionName: options.connectionName,
    onWarning,
  });
  const scrub = connection.scrub;
  let closed = false;
  const consumers = new Set<Consumer>();
  const replyChannels = new Set<ReplyChannel>();

  const unavailable = (what: string, err: unknown): BrokerUnavailable => ({
    _tag: 'BrokerUnavailable',
    message: `${what} failed: ${scrub(describe(err))}`,
    cause: err,
  });
  const closedError = (what: string): BrokerUnavailable => ({
    _tag: 'BrokerUnavailable',
    message: `${what}: the RabbitMQ broker (${connection.redactedUrl}) is closed`,
  });
  /** The port's publish as a task: `BrokerUnavailable` when `stopped()`, or when `send` fails; never a rejection. */
  const publishTask =
    (what: string, stopped: () => boolean, send: () => Promise<void>): TaskEither<BrokerUnavailable, void> =>
    async () => {
      if (stopped()) return E.left(closedError(what));
      try {
        await send();
        return published;
      } catch (err) {
        return E.left(unavailable(what, err));
      }
    };

  const unconfirmedMessage = `RabbitMQ did not confirm within ${timeoutMs} ms`;
  const publisher = makePublisher(connection, { timeoutMs, onWarning, unconfirmedMessage });
  const attachDeps = { connection, timeoutMs, minDelay, maxDelay, onWarning };
  const consumerDeps: ConsumerDeps = { ...attachDeps, publisher, consumers };
  const replyChannelDeps: ReplyChannelDeps = {
    ...attachDeps,
    publishVia: publisher.publishVia,
    publishTask,
    closed: () => closed,
    unconfirmedMessage,
    replyChannels,
  };

  const router =
    options.delayRouter === false
      ? undefined
      : await runDelayRouter({
          consume: (queue, handler, routerOptions) => runConsumer(consumerDeps, queue, handler, routerOptions),
          forward: (queue, content, properties) => publisher.sendTo(queue, content, properties, Date.now() + timeoutMs),
          now: () => Date.now(),
          onWarning,
          prefetch: options.delayRouterPrefetch ?? 256,
          retryPauseMs: 1_000,
        }).catch(async (err: unknown) => {
          await connection.close();
          const message = `could not start the delay router on ${connection.redactedUrl}: ${scrub(describe(err))}`;
          throw err instanceof QueueDeclarationError
            ? new QueueDeclarationError(message, { cause: err })
            : new Error(message, { cause: err });
        });

  const broker: Broker = {
    kind: 'rabbitmq',
    keepsMessages: true,
    reachesOtherProcesses: true,

    publish: (queue, message) => {
      checkQueueName(queue);
      refuseDirectReplyTo(queue, message.replyTo);
      return publishTask(
        `publish to "${queue}"`,
        () => closed,
        () => publisher.publishVia(queue, message, publishProperties(message, message.replyTo, true, true)),
      );
    },

    reply: (address, message) =>
      publishTask(
        `reply to "${address}"`,
        () => closed,
        async () => {
          const deadline = Date.now() + timeoutMs;
          const confirmed = publisher.channel.ready() ?? (await publisher.channel.get(deadline));
          // Not persistent, nothing declared: a reply is only useful to a requester that is still listening.
          await confirmed.send(address, message.body, publishProperties(message, message.replyTo, false, false), deadline);
        },
      ),

    consume: async (queue, handler, consumeOptions = {}) => {
      checkQueueName(queue);
      if (closed) throw new Error(`consume "${queue}": the RabbitMQ broker (${connection.redactedUrl}) is closed`);
      return runConsumer(consumerDeps, queue, (delivery) => handler(delivery), consumeOptions);
    },

    openReplyChannel: async (onReply) => {
      if (closed) throw new Error(`openReplyChannel: the RabbitMQ broker (${connection.redactedUrl}) is closed`);
      return openReplyChannel(replyChannelDeps, onReply);
    },

    // A passive declare on a channel of its own: RabbitMQ closes the channel when the queue does not exist (404).
    inspectQueue: async (queue) => {
      checkQueueName(queue);
      if (closed) throw new Error(`inspect "${queue}": the RabbitMQ broker (${connection.redactedUrl}) is closed`);
      const live = await connection.waitForLive(timeoutMs);
      const channel = await live.model.createChannel();
      channel.on('error', () => undefined);
      try {
        const ok = await channel.checkQueue(queue);
        return { messages: ok.messageCount, consumers: ok.consumerCount };
      } catch (err) {
        if ((err as { code?: unknown }).code === 404) return undefined;
        throw new Error(`inspect "${queue}" failed: ${scrub(describe(err))}`, { cause: err });
      } finally {
        await channel.close().catch(() => undefined);
      }
    },

    onConnectionChange: (listener) => connection.onChange(listener),

    close: async () => {
      if (closed) return;
      closed = true;
      await router?.stop();
      await Promise.all([...consumers].map((c) => c.stop()));
      await Promise.all([...replyChannels].map((r) => r.stop()));
      await connection.close();
    },
  };
  return broker;
};
