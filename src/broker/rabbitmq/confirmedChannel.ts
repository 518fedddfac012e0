import type { ConfirmChannel, Message, Options } from 'amqplib';
import type { LiveConnection } from './rabbitConnection.js';

/** Why RabbitMQ did not take a message; the message may or may not have been stored (`closed`). */
export class PublishFailedError extends Error {
  override readonly name = 'PublishFailedError';
  constructor(
    readonly reason: 'nacked' | 'unroutable' | 'closed',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A ConfirmChannel whose publishes resolve on the broker's ack and reject on a nack, a return, or a close. */
export interface ConfirmedChannel {
  readonly channel: ConfirmChannel;
  readonly generation: number;
  isOpen(): boolean;
  /** Resolves when the channel closes (at once if it is closed). */
  readonly closed: Promise<void>;
  /**
   * Publishes to the default exchange with `mandatory`, so that a message no
   * queue took (the queue was deleted) is reported, not silently confirmed.
   */
  send(routingKey: string, content: Buffer, options: Options.Publish): Promise<void>;
}

interface Pending {
  readonly routingKey: string;
  readonly messageId: unknown;
  returned: boolean;
}

/** Opens a confirm channel on `live`; `onWarning` hears why it closed, if RabbitMQ closed it. */
export const openConfirmedChannel = async (
  live: LiveConnection,
  label: string,
  onWarning: (message: string, cause?: unknown) => void,
): Promise<ConfirmedChannel> => {
  const channel = await live.model.createConfirmChannel();
  let open = true;
  const pending: Pending[] = [];
  channel.on('error', (err: unknown) => onWarning(`${label}: RabbitMQ closed the channel`, err));
  const closed = new Promise<void>((resolve) =>
    channel.once('close', () => {
      open = false;
      resolve();
    }),
  );
  // RabbitMQ sends basic.return before the basic.ack of the same message, in
  // publish order, so the oldest pending publish with the same routing key
  // and message id is the one returned.
  channel.on('return', (message: Message) => {
    const entry = pending.find(
      (p) => !p.returned && p.routingKey === message.fields.routingKey && p.messageId === message.properties.messageId,
    );
    if (entry !== undefined) entry.returned = true;
  });

  const send = (routingKey: string, content: Buffer, options: Options.Publish): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (!open) {
        reject(new PublishFailedError('closed', 'the channel is closed; the message was not sent'));
        return;
      }
      const entry: Pending = { routingKey, messageId: options.messageId, returned: false };
      pending.push(entry);
      const forget = (): void => {
        const i = pending.indexOf(entry);
        if (i >= 0) pending.splice(i, 1);
      };
      try {
        channel.publish('', routingKey, content, options, (err: unknown) => {
          forget();
          if (err !== null && err !== undefined) {
            // amqplib fails the callbacks from its own 'close' listener, which
            // runs just before ours: look at `open` once the emit is over.
            queueMicrotask(() =>
              reject(
                open
                  ? new PublishFailedError('nacked', 'RabbitMQ refused the message (nack)', { cause: err })
                  : new PublishFailedError('closed', 'the channel closed before RabbitMQ confirmed the message; it may or may not have been stored', { cause: err }),
              ),
            );
          } else if (entry.returned) {
            reject(new PublishFailedError('unroutable', `no queue "${routingKey}" took the message (was it deleted?)`));
          } else {
            resolve();
          }
        });
      } catch (err) {
        forget();
        reject(new PublishFailedError('closed', 'the channel could not send the message', { cause: err }));
      }
    });

  return { channel, generation: live.generation, isOpen: () => open, closed, send };
};
