export { Dispositions, errorHeader, errorHeaderValue, maxErrorHeaderLength } from './broker.js';
export type {
  Broker,
  BrokerUnavailable,
  ConsumeOptions,
  Consumer,
  Delivery,
  Disposition,
  Headers,
  OutgoingMessage,
  QueueInspection,
  ReplyChannel,
  StopOptions,
} from './broker.js';
export { enqueueQueueName, rejectedQueueName, WorkMessage, workQueueName } from './workMessage.js';
export { deadLetterQueueName, directReplyTo, isWorkQueue, workQueuePrefix } from './topology.js';
export { makeMemoryBroker } from './memory/memoryBroker.js';
export { makeRabbitBroker } from './rabbitmq/rabbitBroker.js';
export type { RabbitBrokerOptions } from './rabbitmq/rabbitBroker.js';
export { redactUrl } from '../log/index.js';
