import { EventStoreDBClient } from '@eventstore/db-client';
import { makeEsdbEventStore } from '../eventStore/esdb/index.js';
import { makeEsdbProjectionQueries } from '../projections/esdb.js';
import type { StoreBackend } from './readSide.js';

/**
 * EventStoreDB, with its read side: the server's projections (installed by
 * `jobtrail projections install`), read and subscribed to through the one
 * client the store uses.
 */
export const makeEsdbStore = (connectionString: string): StoreBackend => {
  const client = EventStoreDBClient.connectionString(connectionString);
  const store = makeEsdbEventStore({ connectionString, client });
  return {
    ...store,
    openReadSide: async ({ logger }) => {
      const queries = await makeEsdbProjectionQueries({
        client,
        onError: (error) => logger.error({ err: String(error) }, 'projection subscription failed'),
      });
      return { queries, close: () => queries.close() };
    },
    close: async () => {
      await store.close();
      await client.dispose();
    },
  };
};
