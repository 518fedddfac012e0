/** Names and kinds of the queues jobtrail uses (docs/architecture.md#rabbitmq-queues), shared by both adapters. */

/** Prefix of the work queues; see `workQueueName`. */
export const workQueuePrefix = 'jobtrail.work.';

/**
 * True for `jobtrail.work.*` (including their `.dead` queues): RabbitMQ
 * declares these as quorum queues, replicated and durable.
 */
export const isWorkQueue = (queue: string): boolean => queue.startsWith(workQueuePrefix);

/** Where `DeadLetter` puts a message when the consumer names no `deadLetterQueue`. */
export const deadLetterQueueName = (queue: string): string => `${queue}.dead`;

/**
 * The `replyTo` of requests sent through a `ReplyChannel` (RabbitMQ's direct
 * reply-to pseudo-queue). The broker replaces it with a private address per
 * channel; a request carrying it must be published on the channel that
 * consumes its replies, so `Broker.publish` refuses it.
 */
export const directReplyTo = 'amq.rabbitmq.reply-to';

/** Throws the defect `Broker.publish` reports for a request that should have gone through `ReplyChannel.publish`. */
export const refuseDirectReplyTo = (queue: string, replyTo: string | undefined): void => {
  if (replyTo === directReplyTo) {
    throw new Error(
      `publish to "${queue}" with replyTo "${directReplyTo}": publish requests through the ReplyChannel that receives their replies (replyChannel.publish), not broker.publish`,
    );
  }
};

/** Validates a queue name the way RabbitMQ does (1–255 bytes), with a message that says which name. */
export const checkQueueName = (queue: string): void => {
  const bytes = Buffer.byteLength(queue, 'utf8');
  if (bytes < 1 || bytes > 255) {
    throw new Error(`invalid queue name ${JSON.stringify(queue)}: it must be 1 to 255 bytes of UTF-8`);
  }
  if (queue.startsWith('amq.')) {
    throw new Error(`invalid queue name ${JSON.stringify(queue)}: names starting with "amq." are reserved by RabbitMQ`);
  }
};
