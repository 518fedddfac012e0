import { collectDefaultMetrics, Registry } from 'prom-client';

/** The prefix of the process metrics (`jobtrail_process_cpu_seconds_total`, `jobtrail_nodejs_heap_size_used_bytes`, …). */
export const processMetricsPrefix = 'jobtrail_';

/**
 * A registry for a jobtrail process (`jobtrail run`, `jobtrail dashboard`): prom-client's default process and Node.js
 * metrics, prefixed `jobtrail_` (the process's start is `jobtrail_process_start_time_seconds`); the engine adds its own.
 */
export const makeProcessRegistry = (): Registry => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: processMetricsPrefix });
  return registry;
};
