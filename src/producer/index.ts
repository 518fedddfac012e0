// `jobtrail/producer`: enqueue from a service that runs no workers, over RabbitMQ. It loads amqplib and nothing
// native (no better-sqlite3, no EventStoreDB gRPC client): test/integration/producerEntry.test.ts checks it.
export { createProducer, EnqueueCommandRejectedError, ProducerError } from './producer.js';
export type { Producer, ProducerEnqueueOptions, ProducerOptions } from './producer.js';
export type { PayloadOf, WorkerNames, WorkersIn } from './types.js';
