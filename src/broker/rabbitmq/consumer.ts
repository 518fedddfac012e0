import { setMaxListeners } from 'node:events';
import type { ConsumeMessage } from 'amqplib';
import { Dispositions, type ConsumeOptions, type Consumer, type Delivery, type Disposition } from '../broker.js';
import { deadLetterQueueName } from '../topology.js';
import { keepAttached } from './channels.js';
import { sleep } from './sleep.js';
import { toDelivery } from './properties.js';
import type { Publisher } from './publisher.js';
import type { RabbitConnection } from './rabbitConnection.js';
import { makeSettlement, type ChannelState, type Flight } from './settlement.js';

/** A handler that also sees the raw AMQP message (every property and header, not only the port's scalar headers). */
export type RawHandler = (delivery: Delivery, raw: ConsumeMessage) => Promise<Disposition>;

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

interface ConsumerChannel extends ChannelState {
  consumerTag: string | undefined;
  /** The `lost` controller the next deliveries get, and how many got it so far. */
  lostGroup: AbortController;
  lostGroupUsed: number;
}

interface ConsumerFlight extends Flight {
  readonly state: ConsumerChannel;
  readonly lost: AbortController;
  promise?: Promise<void>;
}

/** What a consumer needs of its broker. */
export interface ConsumerDeps {
  readonly connection: RabbitConnection;
  /** Declares the queue before each subscription, and publishes dead-letter copies. */
  readonly publisher: Pick<Publisher, 'ensureQueue' | 'forgetQueue' | 'sendTo'>;
  /** How long the first subscription may take; also the deadline of each dead-letter copy's publish. */
  readonly timeoutMs: number;
  /** Backoff between resubscriptions (and dead-lettering tries): from `minDelay` doubling up to `maxDelay`. */
  readonly minDelay: number;
  readonly maxDelay: number;
  readonly onWarning: (message: string, cause?: unknown) => void;
  /** The running consumers, which the broker's `close` stops: each is in it from its start until its `stop` ends. */
  readonly consumers: Set<Consumer>;
}

/**
 * The adapter's consumer; the public `consume` and the delay router both use
 * it. A channel of its own with `prefetch`, manual acks on the channel that
 * received each delivery (`settlement.ts`), and a new channel when that one
 * closes. Resolves once it has subscribed.
 */
export const runConsumer = async (
  deps: ConsumerDeps,
  queue: string,
  handler: RawHandler,
  consumeOptions: ConsumeOptions,
): Promise<Consumer> => {
  const { connection, publisher, timeoutMs, minDelay, maxDelay, onWarning, consumers } = deps;
  const prefetch = consumeOptions.prefetch ?? 1;
  if (!Number.isInteger(prefetch) || prefetch < 1)
    throw new RangeError(`consume "${queue}": prefetch must be a positive integer, got ${prefetch}`);
  const deadLetterQueue = consumeOptions.deadLetterQueue ?? deadLetterQueueName(queue);
  const stopSignal = new AbortController();
  const flights = new Set<ConsumerFlight>();
  let current: ConsumerChannel | undefined;
  let stopping: Promise<void> | undefined;

  const { settle, flushAcks } = makeSettlement({
    queue,
    deadLetterQueue,
    sendTo: publisher.sendTo,
    timeoutMs,
    minDelay,
    maxDelay,
    stopSignal: stopSignal.signal,
    stopping: () => stopping !== undefined,
    onWarning,
  });

  const run = async (flight: ConsumerFlight, delivery: Delivery): Promise<void> => {
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
  const closeChannel = async (state: ConsumerChannel): Promise<void> => {
    flushAcks(state);
    await state.channel.close().catch(() => undefined);
  };

  const onMessage = (state: ConsumerChannel, message: ConsumeMessage | null): void => {
    if (message === null) {
      // RabbitMQ cancelled the consumer (the queue was deleted, or a quorum
      // queue lost its leader): close the channel so that the attach loop
      // declares the queue again and resubscribes.
      onWarning(`consumer of "${queue}": RabbitMQ cancelled it (queue deleted?); resubscribing`);
      publisher.forgetQueue(queue);
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
    const flight: ConsumerFlight = { state, message, lost: state.lostGroup, done: false };
    flights.add(flight);
    flight.promise = run(flight, toDelivery(queue, message, flight.lost.signal));
  };

  /** Opens a channel and subscribes; resolves with a promise of the channel's end. */
  const attach = async (waitMs: number): Promise<{ readonly ended: Promise<void> }> => {
    const deadline = Date.now() + waitMs;
    const live = await connection.waitForLive(waitMs, stopSignal.signal);
    await publisher.ensureQueue(queue, Number.isFinite(deadline) ? deadline : Date.now() + timeoutMs);
    const channel = await live.model.createChannel();
    const state: ConsumerChannel = {
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
      publisher.forgetQueue(queue);
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
