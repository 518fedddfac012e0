export { makeEmbeddedProjectionQueries } from './embeddedProjectionQueries.js';
export type { EmbeddedProjectionQueries, EmbeddedProjectionQueriesOptions, PartitionPage } from './embeddedProjectionQueries.js';
export { describeFault, makeMemoryProjection, makeProjectionEngine, ProjectionDefinitionError, projectionHash } from './projectionEngine.js';
export type {
  MemoryProjection,
  PartitionStorage,
  Partitioning,
  ProjectionChanges,
  ProjectionEngine,
  ProjectionEngineOptions,
  ProjectionEvent,
  ProjectionFault,
  ProjectionInfo,
  ProjectionRun,
  ProjectionSource,
} from './projectionEngine.js';
export { builtInProjectionFiles, ProjectionNames, projectionNameOf, projectionsDir, readProjectionFiles } from './projectionFiles.js';
export type { ProjectionFile } from './projectionFiles.js';
export { InvalidCursor, InvalidJobViewState, ProjectionNotInstalledError, ProjectionWaitTimeout, toJobView, waitForState } from './projectionQueries.js';
export type {
  JobDashboard,
  JobDashboardWorker,
  JobViewFilter,
  JobViewPage,
  ProjectionChange,
  ProjectionQueries,
  WaitForOptions,
} from './projectionQueries.js';
export { projectionsLeaseName, runProjections } from './projectionRuntime.js';
export type {
  ProjectionLogger,
  ProjectionRunStatus,
  ProjectionsHandle,
  ProjectionStore,
  RunProjectionsOptions,
} from './projectionRuntime.js';
export { makeStreamPartitionsDelete, ProjectionStatuses } from './projectionTables.js';
export type { ProjectionStatus, SqliteDatabase } from './projectionTables.js';
export {
  hoursOfRange,
  isThroughputRange,
  makeThroughputReader,
  readThroughputHistory,
  readThroughputHour,
  ThroughputKinds,
  throughputPartition,
  ThroughputRanges,
  throughputHistoryOf,
  throughputSeries,
  throughputSlots,
  unreadablePartition,
} from './throughputQueries.js';
export type {
  ThroughputBucket,
  ThroughputCounts,
  ThroughputHistory,
  ThroughputKind,
  ThroughputRange,
  ThroughputHour,
  ThroughputReader,
  ThroughputReaderOptions,
  ThroughputSeries,
} from './throughputQueries.js';
export { finishedAt, matchesSearch, searchStatuses, searchStatusOf } from './jobSearch.js';
export type { JobSearch, JobSearchCounts, JobSearchPage, JobSearchQueries, SearchStatus } from './jobSearch.js';
