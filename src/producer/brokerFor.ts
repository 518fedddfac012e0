// The producer's broker from a URL, without the engine's backends: `jobtrail/producer` loads only amqplib
// (never better-sqlite3 or the EventStoreDB gRPC client), so a service that only enqueues stays light (issue 23).
import type { Broker } from '../broker/broker.js';
import { ErrorCodes, JobtrailError } from '../errors/index.js';
import { redactUrl } from '../log/redactUrl.js';

/** `memory` (tests, one process) or `amqp(s)://…`; anything else is an `InvalidConfig` error naming the forms. */
export const brokerFor = async (url: string): Promise<Broker> => {
  const trimmed = typeof url === 'string' ? url.trim() : '';
  if (trimmed === 'memory') return (await import('../broker/memory/memoryBroker.js')).makeMemoryBroker();
  if (/^amqps?:\/\//i.test(trimmed)) return (await import('../broker/rabbitmq/rabbitBroker.js')).makeRabbitBroker({ url: trimmed });
  const shown = trimmed.includes('://') ? redactUrl(trimmed) : JSON.stringify(url);
  throw new JobtrailError(
    ErrorCodes.InvalidConfig,
    `unknown broker URL ${shown}: a producer takes "amqp://user:password@host:5672/vhost", "amqps://…" or "memory"`,
  );
};
