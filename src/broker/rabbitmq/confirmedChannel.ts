import type { ConfirmChannel, Message, Options } from 'amqplib';
import type { LiveConnection } from './rabbitConnection.js';
import { brandClass, ErrorCodes, JobtrailError } from '../../errors/index.js';

/**
 * Why RabbitMQ did not take a message; the message may or may not have been
 * stored (`closed`, `unconfirmed`: no confirm came before the deadline).
 */
export class PublishFailedError extends JobtrailError {
  static {
    brandClass(this, 'PublishFailedError');
  }
  constructor(
    readonly reason: 'nacked' | 'unroutable' | 'closed' | 'unconfirmed',
    message: string,
    options?: ErrorOptions,
  ) {
    super(ErrorCodes.PublishFailed, message, options);
    this.name = 'PublishFailedError';
  }
}

/** A ConfirmChannel whose publishes resolve on the broker's ack and reject on a nack, a return, a close, or their deadline. */
export interface ConfirmedChannel {
  readonly channel: ConfirmChannel;
  readonly generation: number;
  isOpen(): boolean;
  /** Resolves when the channel closes (at once if it is closed). */
  readonly closed: Promise<void>;
  /**
   * Publishes to the default exchange with `mandatory`, so that a message no
   * queue took (the queue was deleted) is reported, not silently confirmed.
   * Rejects with reason `unconfirmed` when RabbitMQ has not confirmed it by
   * `deadline` (epoch milliseconds; `Infinity`: no limit).
   */
  send(routingKey: string, content: Buffer, options: Options.Publish, deadline: number): Promise<void>;
}

/** Options of `openConfirmedChannel`. */
export interface ConfirmedChannelOptions {
  /** Names the channel in warnings: `publishing`, `reply channel`. */
  readonly label: string;
  /** Hears why the channel closed, if RabbitMQ closed it. */
  readonly onWarning: (message: string, cause?: unknown) => void;
  /** The error message of a publish not confirmed by its deadline. */
  readonly unconfirmedMessage: string;
}

interface Pending {
  readonly routingKey: string;
  readonly messageId: unknown;
  readonly deadline: number;
  returned: boolean;
  /** Resolved or rejected already (by its deadline); amqplib's callback for it has not come yet. */
  settled: boolean;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** Longest delay `setTimeout` takes as given (longer ones fire at once). */
const maxTimerMs = 2 ** 31 - 1;

/** Opens a confirm channel on `live`. */
export const openConfirmedChannel = async (live: LiveConnection, options: ConfirmedChannelOptions): Promise<ConfirmedChannel> => {
  const { label, onWarning, unconfirmedMessage } = options;
  const channel = await live.model.createConfirmChannel();
  let open = true;
  // Publishes amqplib has not called back for yet, in publish order (a Set: O(1) removal, ordered iteration).
  const pending = new Set<Pending>();
  // One timer per channel enforces every publish's deadline (not one per
  // publish): it is set for the earliest deadline among the unsettled
  // publishes and, when it fires, fails those past their deadline and is set
  // again for the next. It is unref'd: while a publish waits, the channel's
  // socket keeps the process alive, and a close fails every waiting publish.
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Number.POSITIVE_INFINITY;

  const armFor = (deadline: number): void => {
    if (!(deadline < timerAt)) return;
    if (timer !== undefined) clearTimeout(timer);
    timerAt = deadline;
    timer = setTimeout(expire, Math.min(maxTimerMs, Math.max(0, deadline - Date.now())));
    timer.unref();
  };
  const expire = (): void => {
    timer = undefined;
    timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const entry of pending) {
      if (entry.settled) continue;
      if (entry.deadline <= now) {
        // Left in `pending` until amqplib calls back, so that a later
        // basic.return still finds the message it belongs to.
        entry.settled = true;
        entry.reject(new PublishFailedError('unconfirmed', unconfirmedMessage));
      } else if (entry.deadline < next) {
        next = entry.deadline;
      }
    }
    if (next !== Number.POSITIVE_INFINITY) armFor(next);
  };

  channel.on('error', (err: unknown) => onWarning(`${label}: RabbitMQ closed the channel`, err));
  const closed = new Promise<void>((resolve) =>
    channel.once('close', () => {
      open = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      timerAt = Number.POSITIVE_INFINITY;
      resolve();
    }),
  );
  // RabbitMQ sends basic.return before the basic.ack of the same message, in
  // publish order, so the oldest pending publish with the same routing key
  // and message id is the one returned.
  channel.on('return', (message: Message) => {
    for (const entry of pending) {
      if (!entry.returned && entry.routingKey === message.fields.routingKey && entry.messageId === message.properties.messageId) {
        entry.returned = true;
        return;
      }
    }
  });

  const confirmed = (entry: Pending, err: unknown): void => {
    pending.delete(entry);
    if (entry.settled) return;
    entry.settled = true;
    if (err !== null && err !== undefined) {
      // amqplib fails the callbacks from its own 'close' listener, which
      // runs just before ours: look at `open` once the emit is over.
      queueMicrotask(() =>
        entry.reject(
          open
            ? new PublishFailedError('nacked', 'RabbitMQ refused the message (nack)', { cause: err })
            : new PublishFailedError(
                'closed',
                'the channel closed before RabbitMQ confirmed the message; it may or may not have been stored',
                { cause: err },
              ),
        ),
      );
    } else if (entry.returned) {
      entry.reject(new PublishFailedError('unroutable', `no queue "${entry.routingKey}" took the message (was it deleted?)`));
    } else {
      entry.resolve();
    }
  };

  const send = (routingKey: string, content: Buffer, publishOptions: Options.Publish, deadline: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (!open) {
        reject(new PublishFailedError('closed', 'the channel is closed; the message was not sent'));
        return;
      }
      const entry: Pending = {
        routingKey,
        messageId: publishOptions.messageId,
        deadline,
        returned: false,
        settled: false,
        resolve,
        reject,
      };
      pending.add(entry);
      try {
        channel.publish('', routingKey, content, publishOptions, (err: unknown) => confirmed(entry, err));
      } catch (err) {
        pending.delete(entry);
        entry.settled = true;
        reject(new PublishFailedError('closed', 'the channel could not send the message', { cause: err }));
        return;
      }
      if (Number.isFinite(deadline)) armFor(deadline);
    });

  return { channel, generation: live.generation, isOpen: () => open, closed, send };
};
