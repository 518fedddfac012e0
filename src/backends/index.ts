export { defaultBrokerUrl, defaultStoreUrl, embeddedStoreFile, makeBackend, makeBroker, makeStore } from './makeBackend.js';
export type { Backend } from './makeBackend.js';
export { makeEmbeddedStore } from './embeddedStore.js';
export type { EmbeddedStoreOptions } from './embeddedStore.js';
export { holdReadSide } from './readSide.js';
export type { HeldReadSide, ReadSide, ReadSideOptions, StoreBackend } from './readSide.js';
export type { MakeStoreOptions } from './makeBackend.js';
export {
  defaultSynchronous,
  isSqliteUrl,
  parseSqliteUrl,
  parseSynchronous,
  synchronousPragma,
  synchronousPromise,
  synchronousValues,
  withSynchronous,
} from './durability.js';
export type { SqliteUrl, Synchronous } from './durability.js';
