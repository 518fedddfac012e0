// The EventStoreDB adapter, its own entry so that importing the store port does not load the gRPC client.
export { makeEsdbEventStore } from './esdbEventStore.js';
export type { EsdbEventStoreOptions } from './esdbEventStore.js';
