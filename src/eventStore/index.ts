export { appendTooLarge, streamDeleted, wrongExpectedRevision } from './eventStore.js';
export type {
  AppendError,
  AppendResult,
  AppendTooLarge,
  EventData,
  EventStore,
  ExpectedRevision,
  Position,
  ReadAllOptions,
  ReadStreamError,
  ReadStreamOptions,
  RecordedEvent,
  StoreUnavailable,
  StreamDeleted,
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
export { appendSize, isUuid, maxAppendSize } from './checkAppendInput.js';
