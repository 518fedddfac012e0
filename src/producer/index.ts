export { createProducer, EnqueueCommandRejectedError, ProducerError } from './producer.js';
export type { Producer, ProducerEnqueueOptions, ProducerOptions } from './producer.js';
