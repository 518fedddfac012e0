import { makeRabbitBroker } from '../../src/broker/index.js';
import { deleteQueues, rabbitUrl } from '../support/rabbit.js';
import { brokerContract } from './brokerContract.js';

brokerContract('rabbitmq', () => makeRabbitBroker({ url: rabbitUrl, connectionName: 'jobtrail contract test' }), {
  deleteQueues,
}).run();
