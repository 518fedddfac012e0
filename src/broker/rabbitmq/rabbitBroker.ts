import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Channel, ConsumeMessage, MessagePropertyHeaders, Options } from 'amqplib';
import * as E from 'fp-ts/lib/Either.js';
import {
  Dispositions,
  errorHeader,
  errorHeaderValue,
  maxKeepDeliveryMs,
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
import { copyProperties } from './properties.js';
import {
  ConnectionUnavailableError,
  describe,
  makeRabbitConnection,
  type LiveConnection,
  type RabbitConnection,
} from './rabbitConnection.js';

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

/** The arguments RabbitMQ declares a queue with (docs/architecture.md#rabbitmq-queues); a pure function of its name. */
export const queueDeclaration = (queue: string): Options.AssertQueue => {
  if (isWorkQueue(queue)) return { durable: true, arguments: { 'x-queue-type': 'quorum' } };
  const level = /^jobtrail\.delay\.quorum\.(\d+)$/.exec(queue)?.[1];
  if (level !== undefined && Number(level) <= maxDelayLevel) {
    return {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-message-ttl': delayLevelTtlMs(Number(level)),
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': delayExpiredQueueName,
        // Kept until jobtrail.delay.expired confirms it (delayHops.ts); RabbitMQ requires an overflow that rejects for that.
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
      },
    };
  }
  // Quorum, so that what the delay queues dead-letter into it survives a crash of the node as they do.
  if (queue === delayExpiredQueueName) return { durable: true, arguments: { 'x-queue-type': 'quorum' } };
  return { durable: true };
};

const isScalar = (v: unknown): v is string | number | boolean => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

const noHeaders: Headers = Object.freeze({});

/** The scalar headers of a received message (one shared empty object when it has none). */
const scalarHeaders = (raw: MessagePropertyHeaders | undefined): Headers => {
  if (raw === undefined) return noHeaders;
  let headers: Record<string, string | number | boolean> | undefined;
  for (const k in raw) {
    const v: unknown = raw[k];
    if (Object.hasOwn(raw, k) && isScalar(v)) (headers ??= {})[k] = v;
  }
  return headers ?? noHeaders;
};

const toDelivery = (queue: string, msg: ConsumeMessage, lost: AbortSignal): Delivery => {
  const p = msg.properties;
  return {
    queue,
    body: msg.content,
    messageId: typeof p.messageId === 'string' ? p.messageId : undefined,
    redelivered: msg.fields.redelivered,
    headers: scalarHeaders(p.headers),
    correlationId: typeof p.correlationId === 'string' ? p.correlationId : undefined,
    replyTo: typeof p.replyTo === 'string' ? p.replyTo : undefined,
    contentType: typeof p.contentType === 'string' ? p.contentType : undefined,
    lost,
  };
};

// amqplib sends no `headers` as an empty table, the same bytes as `{}`.
const publishProperties = (
  message: OutgoingMessage,
  replyTo: string | undefined,
  persistent: boolean,
  mandatory: boolean,
): Options.Publish => ({
  persistent,
  mandatory,
  messageId: message.messageId ?? randomUUID(),
  headers: message.headers === undefined ? undefined : { ...message.headers },
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

const isPreconditionFailed = (err: unknown): boolean => (err as { code?: unknown } | undefined)?.code === 406;

/** What to do about a queue that exists with other arguments than `queueDeclaration` gives it. */
const existsOtherwise = (queue: string): string => {
  const declaration = queueDeclaration(queue);
  const type = String(declaration.arguments?.['x-queue-type'] ?? 'classic');
  return (
    `A queue of that name exists with other arguments than jobtrail's (a durable ${type} queue, ` +
    `arguments ${JSON.stringify(declaration.arguments ?? {})}), and RabbitMQ cannot change them. ` +
    `Compare with "rabbitmqctl list_queues name type arguments messages"; once it holds nothing you need, ` +
    `delete it ("rabbitmqctl delete_queue ${queue}") and jobtrail declares it again`
  );
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

/** Where publishes get their channel. */
interface ChannelSource<C> {
  /** The channel if it is open on the current connection, without waiting. */
  ready(): C | undefined;
  /** The channel, waiting for the connection and opening it if need be, until `deadline`. */
  get(deadline: number): Promise<C>;
}

/** One channel per connection, opened on first use and reopened when it closed. */
const makeChannelSlot = <C extends { readonly generation: number; isOpen(): boolean }>(
  connection: RabbitConnection,
  open: (live: LiveConnection) => Promise<C>,
): ChannelSource<C> => {
  let current: C | undefined;
  let opening: Promise<C> | undefined;
  return {
    ready: () => {
      const live = connection.current();
      return live !== undefined && current !== undefined && current.isOpen() && current.generation === live.generation
        ? current
        : undefined;
    },
    get: async (deadline) => {
      const live = await connection.waitForLive(remaining(deadline));
      if (current !== undefined && current.isOpen() && current.generation === live.generation) return current;
      opening ??= open(live)
        .then((c) => (current = c))
        .finally(() => {
          opening = undefined;
        });
      return beforeDeadline(deadline, opening, () => 'opening a channel took too long');
    },
  };
};

/**
 * How many deliveries of a channel share one `lost` signal. Creating an
 * AbortSignal costs Node 20 several microseconds, as much as the rest of a
 * delivery's handling in this adapter; sharing one among a few deliveries of
 * the same channel keeps `Delivery.lost` true to its word (the channel's
 * close, or `stop` giving up, aborts it for every delivery still unsettled),
 * while a settled delivery's signal may be aborted too, which nobody hears.
 * A small group, not the whole channel: listeners a handler leaves behind go
 * away with its group, and adding or removing a listener stays cheap.
 */
const lostGroupSize = 16;

/** A new `lost` controller for a group of deliveries: up to 10 listeners per delivery without Node's leak warning, as for a signal of its own. */
const makeLostGroup = (): AbortController => {
  const controller = new AbortController();
  setMaxListeners(10 * lostGroupSize, controller.signal);
  return controller;
};

interface ChannelState {
  readonly channel: Channel;
  open: boolean;
  consumerTag: string | undefined;
  /** The `lost` controller the next deliveries get, and how many got it so far. */
  lostGroup: AbortController;
  lostGroupUsed: number;
  /**
   * Delivery tags received on this channel and not settled yet (acks waiting
   * in `acks` excepted), in the order received, which is the tags' order: the
   * first is the lowest.
   */
  readonly unsettled: Set<number>;
  /** Deliveries whose handler decided `Ack`, to be acked at the next flush. */
  acks: ConsumeMessage[];
  flush: NodeJS.Immediate | undefined;
}

interface Flight {
  readonly state: ChannelState;
  readonly message: ConsumeMessage;
  readonly lost: AbortController;
  done: boolean;
  promise?: Promise<void>;
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
  const consumers = new Set<{ stop(options?: StopOptions): Promise<void> }>();
  const replyChannels = new Set<ReplyChannel>();

  const unavailable = (what: string, err: unknown): BrokerUnavailable => ({
    _tag: 'BrokerUnavailable',
    message: `${what} failed: ${scrub(describe(err))}`,
    cause: err,
  });

  // Declarations run on a channel of their own: RabbitMQ closes the channel
  // that made a refused declaration, which must not take in-flight publishes with it.
  const unconfirmedMessage = `RabbitMQ did not confirm within ${timeoutMs} ms`;
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
  /**
   * What a failed declaration of `queue` throws: RabbitMQ's refusal as a
   * `QueueDeclarationError` (retrying will not help), anything else as it is.
   * A 406 means the queue exists with other arguments, which RabbitMQ never
   * changes: the error says how jobtrail declares it and how to replace it.
   */
  const declarationError = (queue: string, err: unknown): unknown => {
    if (!isRefusal(err)) return err;
    const refused = `RabbitMQ refused to declare queue "${queue}": ${scrub(describe(err))}`;
    return new QueueDeclarationError(isPreconditionFailed(err) ? `${refused}. ${existsOtherwise(queue)}` : refused, { cause: err });
  };

  const ensureQueue = (queue: string, deadline: number): Promise<void> => {
    const known = declared.get(queue);
    if (known === true) return Promise.resolve();
    let done = known;
    if (done === undefined) {
      const attempt = (async () => {
        const { channel } = await topologyChannel.get(deadline);
        await channel.assertQueue(queue, queueDeclaration(queue)).catch((err: unknown) => {
          throw declarationError(queue, err);
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

  /** The adapter's consumer; the public `consume` and the delay router both use it. */
  const startConsumer = async (queue: string, handler: RawHandler, consumeOptions: ConsumeOptions): Promise<Consumer> => {
    const prefetch = consumeOptions.prefetch ?? 1;
    if (!Number.isInteger(prefetch) || prefetch < 1)
      throw new RangeError(`consume "${queue}": prefetch must be a positive integer, got ${prefetch}`);
    const deadLetterQueue = consumeOptions.deadLetterQueue ?? deadLetterQueueName(queue);
    const stopSignal = new AbortController();
    const flights = new Set<Flight>();
    let current: ChannelState | undefined;
    let stopping: Promise<void> | undefined;

    /** Sends an ack or a nack, on the channel that received the delivery and only while it is open. */
    const sendSettlement = (state: ChannelState, message: ConsumeMessage, settlement: 'ack' | 'ackUpTo' | 'requeue'): void => {
      // Once the channel closed, RabbitMQ has already put the message back
      // (redelivered), and a delivery tag sent on another channel would ack
      // some other message or close that channel.
      if (!state.open) return;
      try {
        if (settlement === 'requeue') state.channel.nack(message, false, true);
        else state.channel.ack(message, settlement === 'ackUpTo');
      } catch (err) {
        onWarning(`consumer of "${queue}": could not settle a delivery; it will be redelivered`, err);
      }
    };

    /**
     * Sends the acks decided since the last flush, which runs at the latest
     * in the next turn of the event loop (amqplib writes nothing before then
     * either). The acks of deliveries older than every unsettled one go as
     * one `basic.ack` with `multiple`: that acks every unsettled tag up to
     * it, and the only unsettled tags up to it are these, all decided `Ack`.
     * The others go one by one, so that no delivery whose handler has not
     * decided (or whose dead-lettering is not confirmed) is ever acked.
     */
    const flushAcks = (state: ChannelState): void => {
      if (state.flush !== undefined) {
        clearImmediate(state.flush);
        state.flush = undefined;
      }
      const acks = state.acks;
      if (acks.length === 0) return;
      state.acks = [];
      let lowestUnsettled = Number.POSITIVE_INFINITY;
      for (const tag of state.unsettled) {
        lowestUnsettled = tag;
        break;
      }
      let upTo: ConsumeMessage | undefined;
      let covered = 0;
      for (const message of acks) {
        const tag = message.fields.deliveryTag;
        if (tag > lowestUnsettled) {
          sendSettlement(state, message, 'ack');
        } else {
          covered += 1;
          if (upTo === undefined || tag > upTo.fields.deliveryTag) upTo = message;
        }
      }
      if (upTo !== undefined) sendSettlement(state, upTo, covered > 1 ? 'ackUpTo' : 'ack');
    };

    // Deferred to the flush, never further: a crash before it is a crash
    // before the ack, as it always could be (the message comes back, redelivered).
    const ack = (flight: Flight): void => {
      const { state, message } = flight;
      if (!state.open) return;
      state.unsettled.delete(message.fields.deliveryTag);
      state.acks.push(message);
      state.flush ??= setImmediate(flushAcks, state);
    };

    const requeue = (flight: Flight): void => {
      const { state, message } = flight;
      state.unsettled.delete(message.fields.deliveryTag);
      sendSettlement(state, message, 'requeue');
    };

    const deadLetter = async (flight: Flight, reason: string): Promise<void> => {
      // Copy first (confirmed), ack after: a crash in between leaves two
      // copies (the original comes back and is dead-lettered again), never none.
      // A copy RabbitMQ does not confirm is tried again, the original kept: handed
      // back, it would count as a failed delivery, and RabbitMQ 4.0 to 4.2 drop a
      // message that comes back to a quorum queue 20 times.
      const p = flight.message.properties;
      const properties = {
        ...copyProperties(p, { ...(p.headers ?? {}), [errorHeader]: errorHeaderValue(reason) }),
        messageId: p.messageId ?? randomUUID(),
      };
      const keptUntil = Date.now() + maxKeepDeliveryMs;
      for (let tries = 1; ; tries++) {
        try {
          await sendTo(deadLetterQueue, flight.message.content, properties, Date.now() + timeoutMs);
          break;
        } catch (err) {
          // Stopping, or the channel is gone (RabbitMQ has given the original to another consumer),
          // or kept long enough: a consumer_timeout would close the channel with every delivery on it.
          const giveBack = stopping !== undefined || !flight.state.open || Date.now() >= keptUntil;
          onWarning(
            `consumer of "${queue}": could not dead-letter a message to "${deadLetterQueue}"; ${giveBack ? `it goes back to "${queue}"` : 'trying again'}`,
            err,
          );
          if (giveBack) {
            requeue(flight);
            return;
          }
          await sleep(Math.min(maxDelay, minDelay * 2 ** Math.min(tries, 10)), stopSignal.signal);
        }
      }
      ack(flight);
    };

    /** Settles a delivery as its handler decided; a promise only while dead-lettering. */
    const settle = (flight: Flight, disposition: Disposition | undefined): Promise<void> | undefined => {
      if (flight.done) return undefined;
      flight.done = true;
      if (!flight.state.open) return undefined;
      switch (disposition?._tag) {
        case 'Ack':
          ack(flight);
          return undefined;
        case 'DeadLetter':
          return deadLetter(flight, disposition.reason);
        default:
          // Requeue, a throw, or anything that is not a disposition: never drop a message by mistake.
          requeue(flight);
          return undefined;
      }
    };

    const run = async (flight: Flight, delivery: Delivery): Promise<void> => {
      // The handler starts a microtask later, outside amqplib's frame dispatch.
      await Promise.resolve();
      let disposition: Disposition | undefined;
      try {
        disposition = await handler(delivery, flight.message);
      } catch {
        disposition = Dispositions.requeue;
      }
      try {
        const settling = settle(flight, disposition);
        if (settling !== undefined) await settling;
      } catch (err) {
        onWarning(`consumer of "${queue}": settling a delivery failed`, err);
      } finally {
        flights.delete(flight);
      }
    };

    /** Sends the acks still waiting, then closes the channel (what it did not settle goes back, redelivered). */
    const closeChannel = async (state: ChannelState): Promise<void> => {
      flushAcks(state);
      await state.channel.close().catch(() => undefined);
    };

    const onMessage = (state: ChannelState, message: ConsumeMessage | null): void => {
      if (message === null) {
        // RabbitMQ cancelled the consumer (the queue was deleted, or a quorum
        // queue lost its leader): close the channel so that the attach loop
        // declares the queue again and resubscribes.
        onWarning(`consumer of "${queue}": RabbitMQ cancelled it (queue deleted?); resubscribing`);
        forgetQueue(queue);
        void closeChannel(state);
        return;
      }
      // Every delivery counts as unsettled until it is, even one left alone
      // below: a later ack with `multiple` must not take it along.
      state.unsettled.add(message.fields.deliveryTag);
      // Deliveries that arrive while stopping stay unacked and go back when the channel closes.
      if (stopSignal.signal.aborted || stopping !== undefined || !state.open) return;
      if (state.lostGroupUsed === lostGroupSize) {
        state.lostGroup = makeLostGroup();
        state.lostGroupUsed = 0;
      }
      state.lostGroupUsed += 1;
      const flight: Flight = { state, message, lost: state.lostGroup, done: false };
      flights.add(flight);
      flight.promise = run(flight, toDelivery(queue, message, flight.lost.signal));
    };

    /** Opens a channel and subscribes; resolves with a promise of the channel's end. */
    const attach = async (waitMs: number): Promise<{ readonly ended: Promise<void> }> => {
      const deadline = Date.now() + waitMs;
      const live = await connection.waitForLive(waitMs, stopSignal.signal);
      await ensureQueue(queue, Number.isFinite(deadline) ? deadline : Date.now() + timeoutMs);
      const channel = await live.model.createChannel();
      const state: ChannelState = {
        channel,
        open: true,
        consumerTag: undefined,
        lostGroup: makeLostGroup(),
        lostGroupUsed: 0,
        unsettled: new Set(),
        acks: [],
        flush: undefined,
      };
      channel.on('error', (err: unknown) =>
        onWarning(`consumer of "${queue}": RabbitMQ closed its channel; its unsettled deliveries go to other consumers`, err),
      );
      const ended = new Promise<void>((resolve) =>
        channel.once('close', () => {
          state.open = false;
          // Acks not sent yet are moot: RabbitMQ gives every unacked delivery of the channel to another consumer.
          if (state.flush !== undefined) clearImmediate(state.flush);
          state.flush = undefined;
          state.acks = [];
          state.unsettled.clear();
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
        forgetQueue(queue);
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
          if (last?.open === true) await closeChannel(last);
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
          const message = `could not start the delay router on ${connection.redactedUrl}: ${scrub(describe(err))}`;
          throw err instanceof QueueDeclarationError
            ? new QueueDeclarationError(message, { cause: err })
            : new Error(message, { cause: err });
        });

  const closedError = (what: string): BrokerUnavailable => ({
    _tag: 'BrokerUnavailable',
    message: `${what}: the RabbitMQ broker (${connection.redactedUrl}) is closed`,
  });

  const broker: Broker = {
    kind: 'rabbitmq',
    keepsMessages: true,
    reachesOtherProcesses: true,

    publish: (queue, message) => {
      checkQueueName(queue);
      refuseDirectReplyTo(queue, message.replyTo);
      return async () => {
        if (closed) return E.left(closedError(`publish to "${queue}"`));
        try {
          await publishVia(queue, message, publishProperties(message, message.replyTo, true, true));
          return published;
        } catch (err) {
          return E.left(unavailable(`publish to "${queue}"`, err));
        }
      };
    },

    reply: (address, message) => async () => {
      if (closed) return E.left(closedError(`reply to "${address}"`));
      try {
        const deadline = Date.now() + timeoutMs;
        const confirmed = publishChannel.ready() ?? (await publishChannel.get(deadline));
        // Not persistent, nothing declared: a reply is only useful to a requester that is still listening.
        await confirmed.send(address, message.body, publishProperties(message, message.replyTo, false, false), deadline);
        return published;
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
        throw new Error(`openReplyChannel on ${connection.redactedUrl} failed: ${scrub(describe(err))}`, { cause: err });
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
          return async () => {
            if (closed || stopSignal.signal.aborted) return E.left(closedError(`publish to "${queue}" through a reply channel`));
            try {
              await publishVia(queue, message, publishProperties(message, directReplyTo, true, true), ownChannel);
              return published;
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
