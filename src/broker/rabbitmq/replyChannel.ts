import type { TaskEither } from 'fp-ts/lib/TaskEither.js';
import type { BrokerUnavailable, Delivery, ReplyChannel } from '../broker.js';
import { checkQueueName, directReplyTo } from '../topology.js';
import { keepAttached, remaining, type ChannelSource } from './channels.js';
import { sleep } from './sleep.js';
import { openConfirmedChannel, type ConfirmedChannel } from './confirmedChannel.js';
import { publishProperties, toDelivery } from './properties.js';
import type { Publisher } from './publisher.js';
import { ConnectionUnavailableError, describe, type RabbitConnection } from './rabbitConnection.js';

/** What a reply channel needs of its broker. */
export interface ReplyChannelDeps {
  readonly connection: RabbitConnection;
  readonly publishVia: Publisher['publishVia'];
  /** The port's publish as a task: `BrokerUnavailable` when `stopped()`, or when `send` fails; never a rejection. */
  readonly publishTask: (what: string, stopped: () => boolean, send: () => Promise<void>) => TaskEither<BrokerUnavailable, void>;
  /** Whether the broker is closed. */
  readonly closed: () => boolean;
  /** How long the first attach may take, and a request waits for the channel to reopen. */
  readonly timeoutMs: number;
  /** Backoff between reopening tries: from `minDelay` doubling up to `maxDelay`. */
  readonly minDelay: number;
  readonly maxDelay: number;
  readonly onWarning: (message: string, cause?: unknown) => void;
  /** The error message of a request RabbitMQ did not confirm in time. */
  readonly unconfirmedMessage: string;
  /** The open reply channels, which the broker's `close` stops. */
  readonly replyChannels: Set<ReplyChannel>;
}

/**
 * A reply channel on direct reply-to (`amq.rabbitmq.reply-to`): one confirmed
 * channel consumes the replies and publishes the requests, and is reopened
 * when it closes. Replies to requests sent before it reopened are lost (their
 * address named the old channel).
 */
export const openReplyChannel = async (deps: ReplyChannelDeps, onReply: (reply: Delivery) => void): Promise<ReplyChannel> => {
  const { connection, publishVia, publishTask, closed, timeoutMs, minDelay, maxDelay, onWarning, unconfirmedMessage, replyChannels } = deps;
  const stopSignal = new AbortController();
  let current: ConfirmedChannel | undefined;
  let waiting: Array<() => void> = [];

  const attach = async (waitMs: number): Promise<{ readonly ended: Promise<void> }> => {
    const live = await connection.waitForLive(waitMs, stopSignal.signal);
    const confirmed = await openConfirmedChannel(live, { label: 'reply channel', onWarning, unconfirmedMessage });
    try {
      await confirmed.channel.consume(
        directReplyTo,
        (message) => {
          if (message === null) return;
          try {
            onReply(toDelivery(directReplyTo, message, new AbortController().signal));
          } catch (err) {
            onWarning('a reply handler threw; the reply is dropped', err);
          }
        },
        { noAck: true },
      );
    } catch (err) {
      await confirmed.channel.close().catch(() => undefined);
      throw err;
    }
    current = confirmed;
    for (const wake of waiting) wake();
    waiting = [];
    if (stopSignal.signal.aborted) await confirmed.channel.close().catch(() => undefined);
    return { ended: confirmed.closed };
  };

  let stopping: Promise<void> | undefined;
  const { attached, done: loopDone } = keepAttached({
    attach,
    running: () => !stopSignal.signal.aborted,
    stopSignal,
    timeoutMs,
    minDelay,
    maxDelay,
    onRetry: (delay, err) => onWarning(`reply channel: could not reopen; retrying in ${delay} ms`, err),
    onEnded: () => {
      current = undefined;
    },
  });
  await attached.catch((err: unknown) => {
    throw new Error(`openReplyChannel on ${connection.redactedUrl} failed: ${connection.scrub(describe(err))}`, { cause: err });
  });

  // Requests must leave on the channel that consumes the replies (direct reply-to).
  const ownChannel: ChannelSource<ConfirmedChannel> = {
    ready: () => (current?.isOpen() === true ? current : undefined),
    get: async (deadline) => {
      while (current === undefined || !current.isOpen()) {
        if (stopSignal.signal.aborted) throw new ConnectionUnavailableError('the reply channel is stopped');
        if (remaining(deadline) <= 0) throw new ConnectionUnavailableError(`the reply channel did not reopen within ${timeoutMs} ms`);
        const wake = new AbortController();
        waiting.push(() => wake.abort());
        await sleep(Math.min(100, remaining(deadline)), wake.signal);
      }
      return current;
    },
  };

  const replyChannel: ReplyChannel = {
    address: directReplyTo,
    publish: (queue, message) => {
      checkQueueName(queue);
      return publishTask(
        `publish to "${queue}" through a reply channel`,
        () => closed() || stopSignal.signal.aborted,
        () => publishVia(queue, message, publishProperties(message, directReplyTo, true, true), ownChannel),
      );
    },
    stop: () => {
      stopping ??= (async () => {
        stopSignal.abort();
        const confirmed = current;
        if (confirmed?.isOpen() === true) await confirmed.channel.close().catch(() => undefined);
        await loopDone;
        replyChannels.delete(replyChannel);
      })();
      return stopping;
    },
  };
  replyChannels.add(replyChannel);
  return replyChannel;
};
