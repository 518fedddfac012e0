import { defineWorker, type Worker } from '../../src/worker/index.js';

/** Counts the runs of one worker's action in progress, across every engine that registers a worker made by `gauge.worker`. */
export interface Gauge {
  /** The most runs in progress at once so far, per engine label. */
  readonly max: Map<string, number>;
  ran: number;
}

/**
 * A worker `name` on `queue` with `concurrency` whose action takes `ms` and
 * measures how many of its runs are in progress at once in the engine it was
 * made for (`label`): one worker object per engine, one gauge per worker name.
 */
export const gaugedWorker = (
  gauge: Gauge,
  label: string,
  options: { name: string; queue: string; concurrency: number; ms: number },
): Worker<unknown> => {
  let now = 0;
  return defineWorker({
    name: options.name,
    queue: options.queue,
    concurrency: options.concurrency,
    maxAttempts: 1,
    action: async () => {
      now += 1;
      gauge.max.set(label, Math.max(gauge.max.get(label) ?? 0, now));
      try {
        await new Promise((resolve) => setTimeout(resolve, options.ms));
      } finally {
        now -= 1;
        gauge.ran += 1;
      }
    },
  });
};

export const newGauge = (): Gauge => ({ max: new Map(), ran: 0 });
