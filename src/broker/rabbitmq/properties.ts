import type { MessageProperties, Options } from 'amqplib';

/**
 * The properties to publish a copy of a received message with (the next hop
 * of a delayed message, a dead-letter copy): persistent and `mandatory`, with
 * the original's ids, content type and encoding, type, app id and timestamp,
 * and the `headers` given.
 */
export const copyProperties = (p: MessageProperties, headers: Record<string, unknown>): Options.Publish => ({
  persistent: true,
  mandatory: true,
  headers,
  messageId: p.messageId ?? undefined,
  correlationId: p.correlationId ?? undefined,
  replyTo: p.replyTo ?? undefined,
  contentType: p.contentType ?? undefined,
  contentEncoding: p.contentEncoding ?? undefined,
  type: p.type ?? undefined,
  appId: p.appId ?? undefined,
  timestamp: typeof p.timestamp === 'number' ? p.timestamp : undefined,
});
