import { makeMemoryBroker } from '../../src/broker/index.js';
import { brokerContract } from './brokerContract.js';

brokerContract('memory', async () => makeMemoryBroker()).run();
