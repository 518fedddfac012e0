import { randomUUID } from 'node:crypto';
import type { ConsumeMessage, MessageProperties, MessagePropertyHeaders, Options } from 'amqplib';
import type { Delivery, Headers, OutgoingMessage } from '../broker.js';

/** The AMQP `priority` that RabbitMQ's quorum queues (4.0 and later) read as high: 0 to 4 are normal, and so is none. */
export const highAmqpPriority = 5;

/**
 * The AMQP `priority` of a message of `priority` (`OutgoingMessage.priority`,
 * higher first): above 0 it is `highAmqpPriority`; otherwise none (normal).
 * Quorum queues have exactly two levels from RabbitMQ 4.0 (high and normal,
 * delivered about 2 to 1 while both wait, so normal ones are never starved),
 * and ignore the property before (3.x: publish order).
 */
export const priorityToAmqp = (priority: number | undefined): number | undefined =>
  priority !== undefined && priority > 0 ? highAmqpPriority : undefined;

/**
 * The properties to publish a copy of a received message with (the next hop
 * of a delayed message, a dead-letter copy): persistent and `mandatory`, with
 * the original's ids, priority, content type and encoding, type, app id and
 * timestamp, and the `headers` given.
 */
export const copyProperties = (p: MessageProperties, headers: Record<string, unknown>): Options.Publish => ({
  persistent: true,
  mandatory: true,
  headers,
  messageId: p.messageId ?? undefined,
  correlationId: p.correlationId ?? undefined,
  replyTo: p.replyTo ?? undefined,
  // A delayed dispatch keeps its priority through every hop to its work queue.
  priority: typeof p.priority === 'number' ? p.priority : undefined,
  contentType: p.contentType ?? undefined,
  contentEncoding: p.contentEncoding ?? undefined,
  type: p.type ?? undefined,
  appId: p.appId ?? undefined,
  timestamp: typeof p.timestamp === 'number' ? p.timestamp : undefined,
});

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

/** A received message as the port's `Delivery` of `queue`, with `lost` as its signal. */
export const toDelivery = (queue: string, msg: ConsumeMessage, lost: AbortSignal): Delivery => {
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

/**
 * The properties to publish `message` with: a new UUID when it has no
 * `messageId`, `application/json` when it has no content type, its priority
 * as `priorityToAmqp` maps it, and now as its timestamp.
 */
export const publishProperties = (
  message: OutgoingMessage,
  replyTo: string | undefined,
  persistent: boolean,
  mandatory: boolean,
): Options.Publish => ({
  persistent,
  mandatory,
  messageId: message.messageId ?? randomUUID(),
  // amqplib sends no `headers` as an empty table, the same bytes as `{}`.
  headers: message.headers === undefined ? undefined : { ...message.headers },
  correlationId: message.correlationId,
  replyTo,
  priority: priorityToAmqp(message.priority),
  contentType: message.contentType ?? 'application/json',
  timestamp: Math.floor(Date.now() / 1000),
});
