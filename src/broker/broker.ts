import type * as TE from 'fp-ts/lib/TaskEither.js';

/** Application headers. Adapters pass on scalar values only (RabbitMQ's own table-valued headers, such as `x-death`, are left out). */
export type Headers = Readonly<Record<string, string | number | boolean>>;

/**
 * A message to publish. Always persistent and confirmed.
 */
export interface OutgoingMessage {
  readonly body: Buffer;
  /**
   * Higher first, among the messages of a queue that are ready (a finite
   * number; default 0). In-process: strictly by priority, FIFO within one.
   * RabbitMQ: `priorityToAmqp` makes it the AMQP `priority` (above 0: 5, high;
   * otherwise none, normal), which quorum queues honour from RabbitMQ 4.0, in
   * a ratio rather than strictly, and ignore before (publish order).
   */
  readonly priority?: number;
  /** Default: a new UUID. It becomes the delivery's `messageId`. */
  readonly messageId?: string;
  /**
   * Deliver no earlier than this many milliseconds from now. Default: 0.
   * With RabbitMQ, at most about a second later, as long as some process runs
   * the adapter's delay router (every RabbitMQ broker does by default).
   */
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
  /**
   * Aborted when this delivery can no longer be settled by this process (its
   * channel or connection closed, or `Consumer.stop` gave up waiting for the
   * handler): the broker gives the message to another consumer, flagged
   * `redelivered`, and whatever the handler returns is ignored. Work started
   * for it should stop. Optional so that hand-made deliveries in tests need
   * not carry one; both adapters always set it. Adapters share one signal
   * among several deliveries (RabbitMQ: groups of 16 of one channel; memory:
   * one per consumer), so it may also be aborted after this delivery was
   * settled: listen to it only while the delivery is being handled.
   */
  readonly lost?: AbortSignal;
}

/** What the handler did with a delivery. */
export type Disposition =
  | { readonly _tag: 'Ack' }
  | { readonly _tag: 'Requeue' }
  /** Moved to the consumer's dead-letter queue with the reason in header `x-jobtrail-error`, body intact. */
  | { readonly _tag: 'DeadLetter'; readonly reason: string };

/** The dispositions a handler returns: `ack`, `requeue`, `deadLetter(reason)`. */
export const Dispositions: {
  readonly ack: Disposition;
  readonly requeue: Disposition;
  readonly deadLetter: (reason: string) => Disposition;
} = {
  ack: { _tag: 'Ack' },
  requeue: { _tag: 'Requeue' },
  deadLetter: (reason) => ({ _tag: 'DeadLetter', reason }),
};

/**
 * Longest a handler keeps a delivery it cannot settle yet (the store or the
 * broker does not answer) before handing it back after all: well within
 * RabbitMQ's default `consumer_timeout` (30 minutes), whose expiry closes the
 * channel with every delivery on it. Handing back at every try instead would
 * lose messages on RabbitMQ 4.0 to 4.2, which drop one that comes back to a
 * quorum queue 20 times; at one hand-back per 10 minutes, that takes over 3
 * hours of outage.
 */
export const maxKeepDeliveryMs = 10 * 60_000;

/** The header that carries the reason of a dead-lettered message. */
export const errorHeader = 'x-jobtrail-error';

/** Longest reason kept in `x-jobtrail-error` (AMQP headers must fit in 64 KiB; a reason quoting huge input is cut). */
export const maxErrorHeaderLength = 2000;

/** The reason as it goes into the header: cut to `maxErrorHeaderLength` characters, marked when cut. */
export const errorHeaderValue = (reason: string): string =>
  reason.length <= maxErrorHeaderLength ? reason : `${reason.slice(0, maxErrorHeaderLength - 30)}… (${reason.length} characters in all)`;

/** Options of `Broker.consume`. */
export interface ConsumeOptions {
  /** Most unacked deliveries at once. Default: 1. */
  readonly prefetch?: number;
  /** Where `DeadLetter` puts a message. Default: `<queue>.dead`. */
  readonly deadLetterQueue?: string;
}

/** Options of `Consumer.stop`. */
export interface StopOptions {
  /**
   * How long to wait for running handlers before their deliveries are given
   * up (they go back to the queue as redelivered, their `lost` signal is
   * aborted, and what the handlers return later is ignored). Default: no limit.
   */
  readonly graceMs?: number;
}

/** What `Broker.inspectQueue` tells of a queue. */
export interface QueueInspection {
  /** Messages ready for delivery (not those delivered and unacked, nor delayed ones still on their way). */
  readonly messages: number;
  /** Consumers subscribed to it now. */
  readonly consumers: number;
}

/** A running subscription to a queue. */
export interface Consumer {
  /** Stops taking new deliveries; waits for running handlers (see `graceMs`); what they did not settle goes back to the queue as redelivered. */
  stop(options?: StopOptions): Promise<void>;
}

/** The broker could not take or confirm the message; it may not have been published. */
export interface BrokerUnavailable {
  readonly _tag: 'BrokerUnavailable';
  readonly message: string;
  readonly cause?: unknown;
}

/** A private address to receive replies on (RabbitMQ's direct reply-to, or an in-process queue). */
export interface ReplyChannel {
  /**
   * The `replyTo` that `publish` sets (`amq.rabbitmq.reply-to` in both
   * adapters; the broker turns it into a private address per request). Send
   * requests with this channel's `publish`: RabbitMQ routes replies only to
   * requests published on the channel that consumes them, and
   * `Broker.publish` throws when given this address.
   */
  readonly address: string;
  /** Publishes a request (like `Broker.publish`) whose replies come to this channel's `onReply`; sets `replyTo`. */
  publish(queue: string, message: OutgoingMessage): TE.TaskEither<BrokerUnavailable, void>;
  /** Stops receiving; replies that arrive later are dropped. */
  stop(): Promise<void>;
}

/**
 * The broker port (docs/architecture.md#ports-and-adapters). Adapters: in-process (`memory`) and RabbitMQ
 * (`amqp://…`). Both pass `test/contract/brokerContract.ts`. Queues are
 * declared by the adapter on first use (durable; delays without a plugin).
 */
export interface Broker {
  /** A short name for logs and display: `memory`, `rabbitmq`. Never a switch: what an adapter can do is said below. */
  readonly kind: string;
  /**
   * Whether messages outlive the process (RabbitMQ's do; the in-process
   * broker's are gone when it exits). Where they do not, a start must
   * recover: dispatch again what a crash left undispatched.
   */
  readonly keepsMessages: boolean;
  /**
   * Whether what one process publishes reaches consumers in other processes
   * (RabbitMQ: yes; in-process: no). Where it does not, a process watches
   * the store for jobs other processes enqueue, and takes no enqueue
   * commands from the wire.
   */
  readonly reachesOtherProcesses: boolean;
  /**
   * Publishes to the named queue (declared if needed); resolves when the
   * broker confirmed it. Throws (a defect) when the queue name is invalid,
   * or when `replyTo` is the reply channels' `amq.rabbitmq.reply-to`:
   * publish such requests with `ReplyChannel.publish`.
   */
  publish(queue: string, message: OutgoingMessage): TE.TaskEither<BrokerUnavailable, void>;
  /** Sends to a reply address (`replyTo` of a delivery); nothing is declared. */
  reply(address: string, message: OutgoingMessage): TE.TaskEither<BrokerUnavailable, void>;
  /** Consumes the named queue; the handler settles each delivery by what it returns (a throw requeues). */
  consume(queue: string, handler: (delivery: Delivery) => Promise<Disposition>, options?: ConsumeOptions): Promise<Consumer>;
  /** Opens a private address whose messages go to `onReply`. */
  openReplyChannel(onReply: (delivery: Delivery) => void): Promise<ReplyChannel>;
  /**
   * What a queue holds now (docs/queues.md): its ready messages and its consumers; `undefined` when the queue does not
   * exist. Never declares it. The in-process broker knows only this process's queue. Optional: a broker without it
   * shows no depth.
   */
  inspectQueue?(queue: string): Promise<QueueInspection | undefined>;
  /** Called with `false` when the connection is lost and `true` when it is back (a no-op for `memory`). */
  onConnectionChange?(listener: (connected: boolean) => void): () => void;
  /** Stops every consumer (unsettled deliveries go back) and closes the connection. */
  close(): Promise<void>;
}
