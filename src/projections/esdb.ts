// The EventStoreDB side of the projections, its own entry so that the embedded mode does not load the gRPC client.
export { installProjections, makeEsdbProjectionQueries } from './esdbProjections.js';
export type { EsdbProjectionQueriesOptions, InstalledProjection, InstallProjectionsOptions } from './esdbProjections.js';
