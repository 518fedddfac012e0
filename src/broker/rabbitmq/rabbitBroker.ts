import { randomUUID } from 'node:crypto';
import type { Channel, ConsumeMessage, Options } from 'amqplib';
import * as E from 'fp-ts/lib/Either.js';
import {
  errorHeader,
  errorHeaderValue,
  type Broker,
  type BrokerUnavailable,
  type ConsumeOptions,
  type Consumer,
  type Delivery,
  type Disposition,
  type Headers,
  type OutgoingMessage,
  type ReplyChannel,
  type StopOptions,
} from '../broker.js';
import { checkQueueName, deadLetterQueueName, directReplyTo, isWorkQueue, refuseDirectReplyTo } from '../topology.js';
import { openConfirmedChannel, PublishFailedError, type ConfirmedChannel } from './confirmedChannel.js';
import {
  delayDueHeader,
  delayExpiredQueueName,
  delayLevelTtlMs,
  delayQueueName,
  delayTargetHeader,
  maxDelayLevel,
  planDelayHop,
} from './delayHops.js';
import { QueueDeclarationError, runDelayRouter, type RawHandler } from './delayRouter.js';
import { ConnectionUnavailableError, describe, makeRabbitConnection, type LiveConnection, type RabbitConnection } from './rabbitConnection.js';

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

/** The arguments RabbitMQ declares a queue with (DESIGN §6); a pure function of its name. */
export const queueDeclaration = (queue: string): Options.AssertQueue => {
  if (isWorkQueue(queue)) return { durable: true, arguments: { 'x-queue-type': 'quorum' } };
  const level = /^jobtrail\.delay\.(\d+)$/.exec(queue)?.[1];
  if (level !== undefined && Number(level) <= maxDelayLevel) {
    return {
      durable: true,
      arguments: {
        'x-message-ttl': delayLevelTtlMs(Number(level)),
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': delayExpiredQueueName,
      },
    };
  }
  return { durable: true };
};

const isScalar = (v: unknown): v is string | number | boolean => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

const toDelivery = (queue: string, msg: ConsumeMessage, lost: AbortSignal): Delivery => {
  const p = msg.properties;
  const headers: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(p.headers ?? {})) if (isScalar(v)) headers[k] = v;
  return {
    queue,
    body: msg.content,
    messageId: typeof p.messageId === 'string' ? p.messageId : undefined,
    redelivered: msg.fields.redelivered,
    headers: headers as Headers,
    correlationId: typeof p.correlationId === 'string' ? p.correlationId : undefined,
    replyTo: typeof p.replyTo === 'string' ? p.replyTo : undefined,
    contentType: typeof p.contentType === 'string' ? p.contentType : undefined,
    lost,
  };
};

const publishProperties = (message: OutgoingMessage, replyTo: string | undefined, persistent: boolean): Options.Publish => ({
  persistent,
  mandatory: true,
  messageId: message.messageId ?? randomUUID(),
  headers: { ...(message.headers ?? {}) },
  correlationId: message.correlationId,
  replyTo,
  contentType: message.contentType ?? 'application/json',
  timestamp: Math.floor(Date.now() / 1000),
});

/**
 * Keeps a channel attached (a consumer's, a reply channel's): attaches, waits
 * for the channel to end, attaches again, backing off between failures, for as
 * long as `running()`. The first attach gets `timeoutMs`: its failure aborts
 * `stopSignal` and rejects `attached`; later failures are retried.
 */
const keepAttached = (o: {
  readonly attach: (timeoutMs: number) => Promise<{ readonly ended: Promise<void> }>;
  readonly running: () => boolean;
  readonly stopSignal: AbortController;
  readonly timeoutMs: number;
  readonly minDelay: number;
  readonly maxDelay: number;
  readonly onRetry: (delay: number, err: unknown) => void;
  readonly onEnded: () => void;
}): { readonly attached: Promise<void>; readonly done: Promise<void> } => {
  let done: Promise<void> = Promise.resolve();
  const attached = new Promise<void>((resolveFirst, rejectFirst) => {
    let first = true;
    const loop = async (): Promise<void> => {
      let delay = o.minDelay;
      while (o.running()) {
        let ended: Promise<void>;
        try {
          ({ ended } = await o.attach(first ? o.timeoutMs : Number.POSITIVE_INFINITY));
        } catch (err) {
          if (first) {
            o.stopSignal.abort();
            rejectFirst(err);
            return;
          }
          if (!o.stopSignal.signal.aborted) o.onRetry(delay, err);
          await sleep(delay, o.stopSignal.signal);
          delay = Math.min(o.maxDelay, delay * 2);
          continue;
        }
        if (first) {
          first = false;
          resolveFirst();
        }
        delay = o.minDelay;
        await ended;
        o.onEnded();
        if (!o.stopSignal.signal.aborted) await sleep(o.minDelay, o.stopSignal.signal);
      }
    };
    done = loop();
  });
  return { attached, done };
};

/** An AMQP channel-level refusal (403 access refused, 404 not found, 406 precondition failed): the same request will fail again. */
const isRefusal = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 403 || code === 404 || code === 406;
};

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

const remaining = (deadline: number): number => Math.max(0, deadline - Date.now());

const beforeDeadline = async <A>(deadline: number, work: Promise<A>, describeTimeout: () => string): Promise<A> => {
  if (!Number.isFinite(deadline)) return work;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectionUnavailableError(describeTimeout())), remaining(deadline));
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
};

/** One channel per connection, opened on first use and reopened when it closed. */
const makeChannelSlot = <C extends { readonly generation: number; isOpen(): boolean }>(
  connection: RabbitConnection,
  open: (live: LiveConnection) => Promise<C>,
): ((deadline: number) => Promise<C>) => {
  let current: C | undefined;
  let opening: Promise<C> | undefined;
  return async (deadline) => {
    const live = await connection.waitForLive(remaining(deadline));
    if (current !== undefined && current.isOpen() && current.generation === live.generation) return current;
    opening ??= open(live)
      .then((c) => (current = c))
      .finally(() => {
        opening = undefined;
      });
    return beforeDeadline(deadline, opening, () => 'opening a channel took too long');
  };
};

interface ChannelState {
  readonly channel: Channel;
  open: boolean;
  consumerTag: string | undefined;
}

interface Flight {
  readonly state: ChannelState;
  readonly message: ConsumeMessage;
  readonly lost: AbortController;
  done: boolean;
  promise: Promise<void>;
}

/**
 * The RabbitMQ broker (`amqp://…`, `amqps://…`), on amqplib. Connects before
 * it resolves (an unreachable broker is an error naming the URL without its
 * password), then reconnects by itself.
 *
 * - Topology (DESIGN §6) is declared on first use of a queue: `jobtrail.work.*`
 *   as quorum queues, everything else as durable classic queues.
 * - Every publish is persistent and `mandatory` on a ConfirmChannel and
 *   resolves only on the broker's confirm; a nack, a return (no such queue),
 *   a closed connection or the timeout is `BrokerUnavailable`. While the
 *   connection is down, publishes wait for it up to `timeoutMs`.
 * - Each consumer has its own channel with `prefetch`, acks manually, and
 *   settles a delivery only on the channel that received it. When that
 *   channel or the connection goes, RabbitMQ gives the unsettled deliveries
 *   to other consumers (redelivered), their `lost` signal is aborted, and
 *   the consumer reattaches on a new channel.
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
  const consumers = new Set<{ stop(options?: StopOptions): Promise<void> }>();
  const replyChannels = new Set<ReplyChannel>();

  const unavailable = (what: string, err: unknown): BrokerUnavailable => ({
    _tag: 'BrokerUnavailable',
    message: `${what} failed: ${scrub(describe(err))}`,
    cause: err,
  });

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
  const publishChannel = makeChannelSlot(connection, (live) => openConfirmedChannel(live, 'publishing', onWarning));

  // Queues are durable, so a declaration holds across reconnections; a
  // publish that comes back unroutable (the queue was deleted) forgets it.
  const declared = new Map<string, Promise<void>>();
  const ensureQueue = (queue: string, deadline: number): Promise<void> => {
    let done = declared.get(queue);
    if (done === undefined) {
      done = (async () => {
        const { channel } = await topologyChannel(deadline);
        try {
          await channel.assertQueue(queue, queueDeclaration(queue));
        } catch (err) {
          if (isRefusal(err)) throw new QueueDeclarationError(`RabbitMQ refused to declare queue "${queue}": ${scrub(describe(err))}`, { cause: err });
          throw err;
        }
      })();
      declared.set(queue, done);
      const attempt = done;
      attempt.catch(() => {
        if (declared.get(queue) === attempt) declared.delete(queue);
      });
    }
    return beforeDeadline(deadline, done, () => `declaring queue "${queue}" took longer than ${timeoutMs} ms`);
  };

  /** Declares `queue` and publishes to it on `channel` (default: the shared publishing channel), before `deadline`. */
  const sendTo = async (
    queue: string,
    content: Buffer,
    properties: Options.Publish,
    deadline: number,
    channel: (deadline: number) => Promise<ConfirmedChannel> = publishChannel,
  ): Promise<void> => {
    for (let attempt = 1; ; attempt += 1) {
      await ensureQueue(queue, deadline);
      const confirmed = await channel(deadline);
      try {
        await beforeDeadline(deadline, confirmed.send(queue, content, properties), () => `RabbitMQ did not confirm within ${timeoutMs} ms`);
        return;
      } catch (err) {
        if (!(err instanceof PublishFailedError && err.reason === 'unroutable')) throw err;
        // Returned unroutable: no queue stored it (the queue was deleted since
        // we declared it), so declaring it again and resending cannot duplicate it.
        declared.delete(queue);
        if (attempt >= 2) throw err;
      }
    }
  };

  /** Publishes now, or, with a delay, to the first delay hop with the target and due time in headers. */
  const publishVia = async (
    queue: string,
    message: OutgoingMessage,
    properties: Options.Publish,
    channel?: (deadline: number) => Promise<ConfirmedChannel>,
  ): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    const delayMs = message.delayMs ?? 0;
    if (!(delayMs > 0)) return sendTo(queue, message.body, properties, deadline, channel);
    const due = Date.now() + delayMs;
    // Declared now so that a bad target fails this publish, not the router later.
    await ensureQueue(queue, deadline);
    const hop = planDelayHop(due - Date.now());
    const hopQueue = hop._tag === 'Hop' ? delayQueueName(hop.level) : delayExpiredQueueName;
    const headers = { ...(properties.headers as Record<string, unknown>), [delayTargetHeader]: queue, [delayDueHeader]: due };
    return sendTo(hopQueue, message.body, { ...properties, headers }, deadline, channel);
  };

  /** The adapter's consumer; the public `consume` and the delay router both use it. */
  const startConsumer = async (queue: string, handler: RawHandler, consumeOptions: ConsumeOptions): Promise<Consumer> => {
    const prefetch = consumeOptions.prefetch ?? 1;
    if (!Number.isInteger(prefetch) || prefetch < 1) throw new RangeError(`consume "${queue}": prefetch must be a positive integer, got ${prefetch}`);
    const deadLetterQueue = consumeOptions.deadLetterQueue ?? deadLetterQueueName(queue);
    const stopSignal = new AbortController();
    const flights = new Set<Flight>();
    let current: ChannelState | undefined;
    let stopping: Promise<void> | undefined;

    const safely = (state: ChannelState, act: (channel: Channel) => void): void => {
      // A settlement is sent only on the channel that received the delivery,
      // and only while it is open: once it closed, RabbitMQ has already put
      // the message back (redelivered), and a delivery tag sent on another
      // channel would ack some other message or close that channel.
      if (!state.open) return;
      try {
        act(state.channel);
      } catch (err) {
        onWarning(`consumer of "${queue}": could not settle a delivery; it will be redelivered`, err);
      }
    };

    const settle = async (flight: Flight, disposition: Disposition | undefined): Promise<void> => {
      if (flight.done) return;
      flight.done = true;
      const { state, message } = flight;
      if (!state.open) return;
      switch (disposition?._tag) {
        case 'Ack':
          safely(state, (ch) => ch.ack(message));
          return;
        case 'DeadLetter': {
          // Copy first (confirmed), ack after: a crash in between leaves two
          // copies (the original comes back and is dead-lettered again), never none.
          const p = message.properties;
          try {
            await sendTo(
              deadLetterQueue,
              message.content,
              {
                persistent: true,
                mandatory: true,
                messageId: p.messageId ?? randomUUID(),
                correlationId: p.correlationId ?? undefined,
                replyTo: p.replyTo ?? undefined,
                contentType: p.contentType ?? undefined,
                contentEncoding: p.contentEncoding ?? undefined,
                type: p.type ?? undefined,
                timestamp: typeof p.timestamp === 'number' ? p.timestamp : undefined,
                headers: { ...(p.headers ?? {}), [errorHeader]: errorHeaderValue(disposition.reason) },
              },
              Date.now() + timeoutMs,
            );
          } catch (err) {
            onWarning(`consumer of "${queue}": could not dead-letter a message to "${deadLetterQueue}"; it goes back to "${queue}"`, err);
            safely(state, (ch) => ch.nack(message, false, true));
            return;
          }
          safely(state, (ch) => ch.ack(message));
          return;
        }
        default:
          // Requeue, a throw, or anything that is not a disposition: never drop a message by mistake.
          safely(state, (ch) => ch.nack(message, false, true));
      }
    };

    const onMessage = (state: ChannelState, message: ConsumeMessage | null): void => {
      if (message === null) {
        // RabbitMQ cancelled the consumer (the queue was deleted, or a quorum
        // queue lost its leader): close the channel so that the attach loop
        // declares the queue again and resubscribes.
        onWarning(`consumer of "${queue}": RabbitMQ cancelled it (queue deleted?); resubscribing`);
        declared.delete(queue);
        state.channel.close().catch(() => undefined);
        return;
      }
      // Deliveries that arrive while stopping stay unacked and go back when the channel closes.
      if (stopSignal.signal.aborted || stopping !== undefined || !state.open) return;
      const flight: Flight = { state, message, lost: new AbortController(), done: false, promise: Promise.resolve() };
      flights.add(flight);
      const delivery = toDelivery(queue, message, flight.lost.signal);
      flight.promise = Promise.resolve()
        .then(() => handler(delivery, message))
        .then(
          (disposition) => settle(flight, disposition),
          () => settle(flight, { _tag: 'Requeue' }),
        )
        .catch((err: unknown) => onWarning(`consumer of "${queue}": settling a delivery failed`, err))
        .finally(() => flights.delete(flight));
    };

    /** Opens a channel and subscribes; resolves with a promise of the channel's end. */
    const attach = async (waitMs: number): Promise<{ readonly ended: Promise<void> }> => {
      const deadline = Date.now() + waitMs;
      const live = await connection.waitForLive(waitMs, stopSignal.signal);
      await ensureQueue(queue, Number.isFinite(deadline) ? deadline : Date.now() + timeoutMs);
      const channel = await live.model.createChannel();
      const state: ChannelState = { channel, open: true, consumerTag: undefined };
      channel.on('error', (err: unknown) => onWarning(`consumer of "${queue}": RabbitMQ closed its channel; its unsettled deliveries go to other consumers`, err));
      const ended = new Promise<void>((resolve) =>
        channel.once('close', () => {
          state.open = false;
          for (const flight of flights) if (flight.state === state && !flight.done) flight.lost.abort();
          resolve();
        }),
      );
      try {
        await channel.prefetch(prefetch);
        const { consumerTag } = await channel.consume(queue, (message) => onMessage(state, message), { noAck: false });
        state.consumerTag = consumerTag;
      } catch (err) {
        // A 404 here means the queue went away after it was declared: declare it again next time.
        declared.delete(queue);
        await channel.close().catch(() => undefined);
        throw err;
      }
      current = state;
      if (stopSignal.signal.aborted || stopping !== undefined) await channel.close().catch(() => undefined);
      return { ended };
    };

    const { attached, done: loopDone } = keepAttached({
      attach,
      running: () => !stopSignal.signal.aborted && stopping === undefined,
      stopSignal,
      timeoutMs,
      minDelay,
      maxDelay,
      onRetry: (delay, err) => onWarning(`consumer of "${queue}": could not resubscribe; retrying in ${delay} ms`, err),
      onEnded: () => {
        current = undefined;
      },
    });

    const consumer: Consumer = {
      stop: (stopOptions = {}) => {
        stopping ??= (async () => {
          const state = current;
          if (state?.open === true && state.consumerTag !== undefined) {
            // No new deliveries; those already sent stay unacked and go back at the close below.
            await state.channel.cancel(state.consumerTag).catch(() => undefined);
          }
          const running = Promise.all([...flights].map((f) => f.promise));
          const graceMs = stopOptions.graceMs;
          if (graceMs === undefined || !Number.isFinite(graceMs)) {
            await running;
          } else {
            const grace = new AbortController();
            await Promise.race([running, sleep(Math.max(0, graceMs), grace.signal)]);
            grace.abort();
          }
          for (const flight of flights) {
            flight.done = true;
            flight.lost.abort();
          }
          stopSignal.abort();
          // Closing the channel gives back what was not settled, flagged redelivered.
          const last = current;
          if (last?.open === true) await last.channel.close().catch(() => undefined);
          await loopDone;
          consumers.delete(consumer);
        })();
        return stopping;
      },
    };
    consumers.add(consumer);
    try {
      await attached;
    } catch (err) {
      consumers.delete(consumer);
      throw err;
    }
    return consumer;
  };

  const router =
    options.delayRouter === false
      ? undefined
      : await runDelayRouter({
          consume: (queue, handler, routerOptions) => startConsumer(queue, handler, routerOptions),
          forward: (queue, content, properties) => sendTo(queue, content, properties, Date.now() + timeoutMs),
          now: () => Date.now(),
          onWarning,
          prefetch: options.delayRouterPrefetch ?? 256,
          retryPauseMs: 1_000,
        }).catch(async (err: unknown) => {
          await connection.close();
          throw new Error(`could not start the delay router on ${connection.redactedUrl}: ${scrub(describe(err))}`, { cause: err });
        });

  const closedError = (what: string): BrokerUnavailable => ({ _tag: 'BrokerUnavailable', message: `${what}: the RabbitMQ broker (${connection.redactedUrl}) is closed` });

  const broker: Broker = {
    kind: 'rabbitmq',

    publish: (queue, message) => {
      checkQueueName(queue);
      refuseDirectReplyTo(queue, message.replyTo);
      return async () => {
        if (closed) return E.left(closedError(`publish to "${queue}"`));
        try {
          await publishVia(queue, message, publishProperties(message, message.replyTo, true));
          return E.right(undefined);
        } catch (err) {
          return E.left(unavailable(`publish to "${queue}"`, err));
        }
      };
    },

    reply: (address, message) => async () => {
      if (closed) return E.left(closedError(`reply to "${address}"`));
      try {
        const deadline = Date.now() + timeoutMs;
        const confirmed = await publishChannel(deadline);
        // Not persistent, nothing declared: a reply is only useful to a requester that is still listening.
        const properties = { ...publishProperties(message, message.replyTo, false), mandatory: false };
        await beforeDeadline(deadline, confirmed.send(address, message.body, properties), () => `RabbitMQ did not confirm within ${timeoutMs} ms`);
        return E.right(undefined);
      } catch (err) {
        return E.left(unavailable(`reply to "${address}"`, err));
      }
    },

    consume: async (queue, handler, consumeOptions = {}) => {
      checkQueueName(queue);
      if (closed) throw new Error(`consume "${queue}": the RabbitMQ broker (${connection.redactedUrl}) is closed`);
      return startConsumer(queue, (delivery) => handler(delivery), consumeOptions);
    },

    openReplyChannel: async (onReply) => {
      if (closed) throw new Error(`openReplyChannel: the RabbitMQ broker (${connection.redactedUrl}) is closed`);
      const stopSignal = new AbortController();
      let current: ConfirmedChannel | undefined;
      let waiting: Array<() => void> = [];

      const attach = async (waitMs: number): Promise<{ readonly ended: Promise<void> }> => {
        const live = await connection.waitForLive(waitMs, stopSignal.signal);
        const confirmed = await openConfirmedChannel(live, 'reply channel', onWarning);
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
        throw new Error(`openReplyChannel on ${connection.redactedUrl} failed: ${scrub(describe(err))}`, { cause: err });
      });

      // Requests must leave on the channel that consumes the replies (direct reply-to).
      const ownChannel = async (deadline: number): Promise<ConfirmedChannel> => {
        while (current === undefined || !current.isOpen()) {
          if (stopSignal.signal.aborted) throw new ConnectionUnavailableError('the reply channel is stopped');
          if (remaining(deadline) <= 0) throw new ConnectionUnavailableError(`the reply channel did not reopen within ${timeoutMs} ms`);
          const wake = new AbortController();
          waiting.push(() => wake.abort());
          await sleep(Math.min(100, remaining(deadline)), wake.signal);
        }
        return current;
      };

      const replyChannel: ReplyChannel = {
        address: directReplyTo,
        publish: (queue, message) => {
          checkQueueName(queue);
          return async () => {
            if (closed || stopSignal.signal.aborted) return E.left(closedError(`publish to "${queue}" through a reply channel`));
            try {
              await publishVia(queue, message, publishProperties(message, directReplyTo, true), ownChannel);
              return E.right(undefined);
            } catch (err) {
              return E.left(unavailable(`publish to "${queue}" through a reply channel`, err));
            }
          };
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
