export { defaultBrokerUrl, defaultStoreUrl, embeddedStoreFile, makeBackend, makeBroker, makeStore } from './makeBackend.js';
export type { Backend } from './makeBackend.js';
export { makeEmbeddedStore } from './embeddedStore.js';
export type { EmbeddedStoreOptions } from './embeddedStore.js';
export { holdReadSide } from './readSide.js';
export type { HeldReadSide, ReadSide, ReadSideOptions, StoreBackend } from './readSide.js';
