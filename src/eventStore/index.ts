import { makeEmbeddedEventStore } from './embedded/embeddedEventStore.js';
import type { EventStore } from './eventStore.js';

export { ExpectedRevisions } from './eventStore.js';
export type {
  AppendError,
  AppendResult,
  EventData,
  EventStore,
  ExpectedRevision,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StoreError,
  StoreUnavailable,
  SubscribeOptions,
  Subscription,
  SubscriptionHandlers,
  WrongExpectedRevision,
} from './eventStore.js';
export { makeEmbeddedEventStore } from './embedded/embeddedEventStore.js';
export type { EmbeddedEventStore, EmbeddedEventStoreOptions } from './embedded/embeddedEventStore.js';
export { makeSqliteLease } from './embedded/sqliteLease.js';
export type { LeaseHolder, SqliteLease, SqliteLeaseOptions } from './embedded/sqliteLease.js';
export { categoryOf, isSystemStream, matchesStreamPrefix } from './streamNames.js';
export { isUuid } from './checkAppendInput.js';

const acceptedForms =
  '"sqlite:<path>" (e.g. sqlite:./.jobtrail/events.db), "sqlite::memory:", "esdb://host:2113?tls=false" or "esdb+discover://…"';

/**
 * Opens the event store a URL names:
 * - `sqlite:<path>`, e.g. `sqlite:./.jobtrail/events.db` (relative to the working directory): the embedded store;
 * - `sqlite::memory:`: an embedded store in memory, gone on `close()`;
 * - `esdb://…` or `esdb+discover://…`: EventStoreDB, the URL being its connection string.
 *
 * Throws an `Error` naming the accepted forms for anything else.
 */
export const makeEventStore = async (url: string): Promise<EventStore> => {
  if (typeof url === 'string' && url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw new Error(`event store URL "${url}" names no file; use ${acceptedForms}`);
    return makeEmbeddedEventStore({ path });
  }
  if (typeof url === 'string' && (url.startsWith('esdb://') || url.startsWith('esdb+discover://'))) {
    // Loaded on demand: the EventStoreDB client (gRPC) costs the embedded mode nothing.
    const { makeEsdbEventStore } = await import('./esdb/esdbEventStore.js');
    return makeEsdbEventStore({ connectionString: url });
  }
  throw new Error(`unknown event store URL ${JSON.stringify(url)}; use ${acceptedForms}`);
};
