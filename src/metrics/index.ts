export {
  attachMetrics,
  checkMetricsOptions,
  AttemptOutcomes,
  firstDueAt,
  lagCountCap,
  maxCollectedSeries,
  outcomeLabel,
  withTimeout,
} from './prometheus.js';
export type { EngineMetrics, JobCountsSample, LagSample, MetricsOptions, MetricsSource, QueueSample } from './prometheus.js';
export { makeLabelBound, otherLabel } from './labels.js';
export type { LabelBound } from './labels.js';
export { jobCountsOf, projectionLag } from './lag.js';
export type { JobObserver } from './observer.js';
export { MetricsServerError, serveMetrics } from './server.js';
export type { MetricsServer } from './server.js';
export { makeProcessRegistry, processMetricsPrefix } from './processRegistry.js';
