import { suite } from 'uvu';
import { makeEsdbEventStore } from '../../src/eventStore/esdb/index.js';
import { eventStoreContract } from './eventStoreContract.js';

// The only place the tests read the environment: EventStoreDB runs when ESDB_URL names it.
const url = process.env.ESDB_URL;

if (url) {
  eventStoreContract(`EventStoreDB (${url})`, async () => makeEsdbEventStore({ connectionString: url }));
} else {
  console.log(
    '\n*** SKIPPED: EventStoreDB contract (ESDB_URL is not set; run docker compose up and set ESDB_URL=esdb://localhost:2113?tls=false) ***\n',
  );
  const test = suite('event store contract: EventStoreDB');
  test.skip('SKIPPED: EventStoreDB contract (ESDB_URL is not set)', () => undefined);
  test.run();
}
