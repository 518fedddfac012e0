import { randomUUID } from 'node:crypto';
import type { Channel, ConsumeMessage, Options } from 'amqplib';
import { errorHeader, errorHeaderValue, maxKeepDeliveryMs, type Disposition } from '../broker.js';
import { sleep } from './sleep.js';
import { copyProperties } from './properties.js';

/** A consumer's channel, as settling its deliveries sees it. */
export interface ChannelState {
  readonly channel: Channel;
  open: boolean;
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

/** A delivery being handled; `done` once it is settled, or given up. */
export interface Flight {
  readonly state: ChannelState;
  readonly message: ConsumeMessage;
  done: boolean;
}

/** What settling the deliveries of one consumer needs. */
export interface SettlementDeps {
  /** The consumer's queue, for warnings. */
  readonly queue: string;
  /** Where dead-lettered deliveries go (`<queue>.dead` by default). */
  readonly deadLetterQueue: string;
  /** Declares a queue if need be and publishes to it; resolves on the broker's confirm. */
  readonly sendTo: (queue: string, content: Buffer, properties: Options.Publish, deadline: number) => Promise<void>;
  readonly timeoutMs: number;
  /** Backoff between dead-lettering tries: from `minDelay` doubling up to `maxDelay`. */
  readonly minDelay: number;
  readonly maxDelay: number;
  /** Aborted when the consumer stops: ends a wait between dead-lettering tries. */
  readonly stopSignal: AbortSignal;
  /** Whether the consumer's `stop` has begun. */
  readonly stopping: () => boolean;
  readonly onWarning: (message: string, cause?: unknown) => void;
}

export interface Settlement {
  /** Settles a delivery as its handler decided; a promise only while dead-lettering. */
  settle(flight: Flight, disposition: Disposition | undefined): Promise<void> | undefined;
  /** Sends the acks decided since the last flush now. */
  flushAcks(state: ChannelState): void;
}

/**
 * Settles the deliveries of one consumer: acks batched per turn of the event
 * loop, requeues, and dead-lettering (copy confirmed, then ack).
 */
export const makeSettlement = (deps: SettlementDeps): Settlement => {
  const { queue, deadLetterQueue, sendTo, timeoutMs, minDelay, maxDelay, stopSignal, stopping, onWarning } = deps;

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
        const giveBack = stopping() || !flight.state.open || Date.now() >= keptUntil;
        onWarning(
          `consumer of "${queue}": could not dead-letter a message to "${deadLetterQueue}"; ${giveBack ? `it goes back to "${queue}"` : 'trying again'}`,
          err,
        );
        if (giveBack) {
          requeue(flight);
          return;
        }
        await sleep(Math.min(maxDelay, minDelay * 2 ** Math.min(tries, 10)), stopSignal);
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

  return { settle, flushAcks };
};
