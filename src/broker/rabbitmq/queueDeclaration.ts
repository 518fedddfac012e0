import type { Options } from 'amqplib';
import { brandClass, ErrorCodes, JobtrailError } from '../../errors/index.js';
import { isWorkQueue } from '../topology.js';
import { delayExpiredQueueName, delayLevelTtlMs, maxDelayLevel } from './delayHops.js';
import { describe } from './rabbitConnection.js';

/** A queue could not be declared (RabbitMQ refused its name or arguments): retrying will not help. */
export class QueueDeclarationError extends JobtrailError {
  static {
    brandClass(this, 'QueueDeclarationError');
  }
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.QueueDeclaration, message, options);
    this.name = 'QueueDeclarationError';
  }
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

/**
 * What a failed declaration of `queue` throws: RabbitMQ's refusal as a
 * `QueueDeclarationError` (retrying will not help), anything else as it is.
 * A 406 means the queue exists with other arguments, which RabbitMQ never
 * changes: the error says how jobtrail declares it and how to replace it.
 * `scrub` removes the URL's password from the driver's message.
 */
export const declarationError = (queue: string, err: unknown, scrub: (text: string) => string): unknown => {
  if (!isRefusal(err)) return err;
  const refused = `RabbitMQ refused to declare queue "${queue}": ${scrub(describe(err))}`;
  return new QueueDeclarationError(isPreconditionFailed(err) ? `${refused}. ${existsOtherwise(queue)}` : refused, { cause: err });
};
