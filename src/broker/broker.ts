import type * as TE from 'fp-ts/lib/TaskEither.js';

export type Headers = Readonly<Record<string, string | number | boolean>>;

/** A message to publish. Always persistent and confirmed. */
export interface OutgoingMessage {
  readonly body: Buffer;
  /** Default: a new UUID. It becomes the delivery's `messageId`. */
  readonly messageId?: string;
  /** Deliver no earlier than this many milliseconds from now. Default: 0. */
  readonly delayMs?: number;
  readonly headers?: Headers;
  readonly correlationId?: string;
  readonly replyTo?: string;
  /** Default: `application/json`. */
  readonly contentType?: string;
}

/** A message received by a consumer. */
export interface Delivery {
  readonly queue: string;
  readonly body: Buffer;
  readonly messageId: string | undefined;
  /** True when the message was delivered before and not acked (its consumer or connection went away). */
  readonly redelivered: boolean;
  readonly headers: Headers;
  readonly correlationId: string | undefined;
  readonly replyTo: string | undefined;
  readonly contentType: string | undefined;
}

/** What the handler did with a delivery. */
export type Disposition =
  | { readonly _tag: 'Ack' }
  | { readonly _tag: 'Requeue' }
  /** Moved to the consumer's dead-letter queue with the reason in header `x-jobtrail-error`, body intact. */
  | { readonly _tag: 'DeadLetter'; readonly reason: string };

export const Dispositions = {
  ack: { _tag: 'Ack' } as Disposition,
  requeue: { _tag: 'Requeue' } as Disposition,
  deadLetter: (reason: string): Disposition => ({ _tag: 'DeadLetter', reason }),
} as const;

/** The header that carries the reason of a dead-lettered message. */
export const errorHeader = 'x-jobtrail-error';

export interface ConsumeOptions {
  /** Most unacked deliveries at once. Default: 1. */
  readonly prefetch?: number;
  /** Where `DeadLetter` puts a message. Default: `<queue>.dead`. */
  readonly deadLetterQueue?: string;
}

export interface Consumer {
  /** Stops taking new deliveries; waits for running handlers; what they did not settle goes back to the queue as redelivered. */
  stop(): Promise<void>;
}

/** The broker could not take or confirm the message; it may not have been published. */
export interface BrokerUnavailable {
  readonly _tag: 'BrokerUnavailable';
  readonly message: string;
  readonly cause?: unknown;
}

/** A private address to receive replies on (RabbitMQ's direct reply-to, or an in-process queue). */
export interface ReplyChannel {
  /** Put this in `replyTo`. */
  readonly address: string;
  stop(): Promise<void>;
}

/**
 * The broker port (DESIGN §3). Adapters: in-process (`memory`) and RabbitMQ
 * (`amqp://…`). Both pass `test/contract/brokerContract.ts`. Queues are
 * declared by the adapter on first use (durable; delays without a plugin).
 */
export interface Broker {
  /** A short name for logs: `memory`, `rabbitmq`. */
  readonly kind: string;
  /** Publishes to the named queue (declared if needed); resolves when the broker confirmed it. */
  publish(queue: string, message: OutgoingMessage): TE.TaskEither<BrokerUnavailable, void>;
  /** Sends to a reply address (`replyTo` of a delivery); nothing is declared. */
  reply(address: string, message: OutgoingMessage): TE.TaskEither<BrokerUnavailable, void>;
  /** Consumes the named queue; the handler settles each delivery by what it returns (a throw requeues). */
  consume(queue: string, handler: (delivery: Delivery) => Promise<Disposition>, options?: ConsumeOptions): Promise<Consumer>;
  /** Opens a private address whose messages go to `onReply`. */
  openReplyChannel(onReply: (delivery: Delivery) => void): Promise<ReplyChannel>;
  /** Called with `false` when the connection is lost and `true` when it is back (a no-op for `memory`). */
  onConnectionChange?(listener: (connected: boolean) => void): () => void;
  /** Stops every consumer (unsettled deliveries go back) and closes the connection. */
  close(): Promise<void>;
}
