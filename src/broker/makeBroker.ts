import type { Broker } from './broker.js';
import { makeMemoryBroker } from './memory/memoryBroker.js';
import { makeRabbitBroker, type RabbitBrokerOptions } from './rabbitmq/rabbitBroker.js';
import { redactUrl } from '../log/index.js';

/**
 * The broker a URL names (`--broker`, `JOBTRAIL_BROKER`):
 * - `memory`: the in-process broker;
 * - `amqp://user:password@host:5672/vhost` or `amqps://…`: RabbitMQ, with
 *   `rabbitOptions` (see `RabbitBrokerOptions` for their defaults).
 *
 * Rejects with an error naming the accepted forms for anything else, and
 * when RabbitMQ cannot be reached (the password is never shown).
 */
export const makeBroker = async (url: string, rabbitOptions: Omit<RabbitBrokerOptions, 'url'> = {}): Promise<Broker> => {
  const trimmed = url.trim();
  if (trimmed === 'memory') return makeMemoryBroker();
  if (/^amqps?:\/\//i.test(trimmed)) return makeRabbitBroker({ ...rabbitOptions, url: trimmed });
  const shown = trimmed.includes('://') ? redactUrl(trimmed) : JSON.stringify(trimmed);
  throw new Error(
    `unknown broker URL ${shown}: use "memory", "amqp://user:password@host:5672/vhost" or "amqps://user:password@host:5671/vhost"`,
  );
};
