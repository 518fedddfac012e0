// The EventStoreDB side of the projections, its own entry so that the embedded mode does not load the gRPC client.
export {
  esdbProjectionFiles,
  installProjections,
  IndexStreams,
  isCurrentEntry,
  isPassingProjectionError,
  makeEsdbProjectionQueries,
  projectionHealth,
  ProjectionInstallError,
  requiredSystemProjections,
  unwrapState,
} from './esdbProjections.js';
export type {
  EsdbProjectionQueriesOptions,
  InstalledProjection,
  InstallProjectionsOptions,
  ProjectionHealth,
} from './esdbProjections.js';
