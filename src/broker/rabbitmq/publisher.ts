import type { Options } from 'amqplib';
import type { OutgoingMessage } from '../broker.js';
import { beforeDeadline, makeChannelSlot, type ChannelSource } from './channels.js';
import { openConfirmedChannel, PublishFailedError, type ConfirmedChannel } from './confirmedChannel.js';
import { delayDueHeader, delayExpiredQueueName, delayQueueName, delayTargetHeader, planDelayHop } from './delayHops.js';
import { declarationError, queueDeclaration } from './queueDeclaration.js';
import type { RabbitConnection } from './rabbitConnection.js';

/** Options of `makePublisher`. */
export interface PublisherOptions {
  /** How long a publish waits, in all, for the connection, the queue's declaration and the confirm. */
  readonly timeoutMs: number;
  /** Hears why RabbitMQ closed a channel. */
  readonly onWarning: (message: string, cause?: unknown) => void;
  /** The error message of a publish RabbitMQ did not confirm in time. */
  readonly unconfirmedMessage: string;
}

/** Declares queues on first use and publishes to them, confirmed. */
export interface Publisher {
  /** The shared publishing channel (replies leave on it too). */
  readonly channel: ChannelSource<ConfirmedChannel>;
  /** Declares `queue` as `queueDeclaration` says, unless RabbitMQ already answered that; fails with `QueueDeclarationError` when RabbitMQ refuses. */
  ensureQueue(queue: string, deadline: number): Promise<void>;
  /** Forgets that `queue` was declared (it was deleted, or its consumer cancelled): the next use declares it again. */
  forgetQueue(queue: string): void;
  /**
   * Declares `queue` and publishes to it on the channel of `source` (default:
   * the shared publishing channel), confirmed before `deadline`.
   */
  sendTo(
    queue: string,
    content: Buffer,
    properties: Options.Publish,
    deadline: number,
    source?: ChannelSource<ConfirmedChannel>,
  ): Promise<void>;
  /** Publishes now, or, with a delay, to the first delay hop with the target and due time in headers; confirmed within `timeoutMs`. */
  publishVia(queue: string, message: OutgoingMessage, properties: Options.Publish, source?: ChannelSource<ConfirmedChannel>): Promise<void>;
}

/** The publishing side of the RabbitMQ broker, on `connection`. */
export const makePublisher = (connection: RabbitConnection, opts: PublisherOptions): Publisher => {
  const { timeoutMs, onWarning, unconfirmedMessage } = opts;

  // Declarations run on a channel of their own: RabbitMQ closes the channel
  // that made a refused declaration, which must not take in-flight publishes with it.
  const topologyChannel = makeChannelSlot(connection, async (live) => {
    const channel = await live.model.createChannel();
    let open = true;
    channel.on('error', (err: unknown) => onWarning('declaring a queue: RabbitMQ closed the channel', err));
    channel.once('close', () => {
      open = false;
    });
    return { channel, generation: live.generation, isOpen: () => open };
  });
  const publishChannel = makeChannelSlot(connection, (live) =>
    openConfirmedChannel(live, { label: 'publishing', onWarning, unconfirmedMessage }),
  );

  // Queues are durable, so a declaration holds across reconnections; a
  // publish that comes back unroutable (the queue was deleted) forgets it.
  /** Per queue: its declaration in flight, or `true` once RabbitMQ answered it (publishing then waits for nothing else). */
  const declared = new Map<string, Promise<void> | true>();
  const forgetQueue = (queue: string): void => {
    declared.delete(queue);
  };

  const ensureQueue = (queue: string, deadline: number): Promise<void> => {
    const known = declared.get(queue);
    if (known === true) return Promise.resolve();
    let done = known;
    if (done === undefined) {
      const attempt = (async () => {
        const { channel } = await topologyChannel.get(deadline);
        await channel.assertQueue(queue, queueDeclaration(queue)).catch((err: unknown) => {
          throw declarationError(queue, err, connection.scrub);
        });
      })();
      declared.set(queue, attempt);
      // Unless the queue was forgotten meanwhile (it came back unroutable, its consumer was cancelled).
      attempt.then(
        () => {
          if (declared.get(queue) === attempt) declared.set(queue, true);
        },
        () => {
          if (declared.get(queue) === attempt) declared.delete(queue);
        },
      );
      done = attempt;
    }
    return beforeDeadline(deadline, done, () => `declaring queue "${queue}" took longer than ${timeoutMs} ms`);
  };

  /**
   * Declares `queue` and publishes to it on the channel of `source` (default:
   * the shared publishing channel), confirmed before `deadline`. Once the
   * queue is declared and the channel open, nothing is awaited but the confirm.
   */
  const sendTo = async (
    queue: string,
    content: Buffer,
    properties: Options.Publish,
    deadline: number,
    source: ChannelSource<ConfirmedChannel> = publishChannel,
  ): Promise<void> => {
    for (let attempt = 1; ; attempt += 1) {
      if (declared.get(queue) !== true) await ensureQueue(queue, deadline);
      const confirmed = source.ready() ?? (await source.get(deadline));
      try {
        await confirmed.send(queue, content, properties, deadline);
        return;
      } catch (err) {
        if (!(err instanceof PublishFailedError && err.reason === 'unroutable')) throw err;
        // Returned unroutable: no queue stored it (the queue was deleted since
        // we declared it), so declaring it again and resending cannot duplicate it.
        forgetQueue(queue);
        if (attempt >= 2) throw err;
      }
    }
  };

  /** Publishes now, or, with a delay, to the first delay hop with the target and due time in headers. */
  const publishVia = (
    queue: string,
    message: OutgoingMessage,
    properties: Options.Publish,
    source?: ChannelSource<ConfirmedChannel>,
  ): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    const delayMs = message.delayMs ?? 0;
    if (!(delayMs > 0)) return sendTo(queue, message.body, properties, deadline, source);
    return publishDelayed(queue, message, properties, deadline, delayMs, source);
  };

  const publishDelayed = async (
    queue: string,
    message: OutgoingMessage,
    properties: Options.Publish,
    deadline: number,
    delayMs: number,
    source: ChannelSource<ConfirmedChannel> | undefined,
  ): Promise<void> => {
    const due = Date.now() + delayMs;
    // Declared now so that a bad target fails this publish, not the router later.
    await ensureQueue(queue, deadline);
    const hop = planDelayHop(due - Date.now());
    const hopQueue = hop._tag === 'Hop' ? delayQueueName(hop.level) : delayExpiredQueueName;
    const headers = { ...(properties.headers as Record<string, unknown>), [delayTargetHeader]: queue, [delayDueHeader]: due };
    return sendTo(hopQueue, message.body, { ...properties, headers }, deadline, source);
  };

  return { channel: publishChannel, ensureQueue, forgetQueue, sendTo, publishVia };
};
