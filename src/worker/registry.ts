import { quote } from './failures.js';
import { InvalidWorkerError, validateWorker, type Worker } from './worker.js';

/** The workers of one process, by name. */
export interface WorkerRegistry {
  get(name: string): Worker<unknown> | undefined;
  readonly names: readonly string[];
  readonly workers: readonly Worker<unknown>[];
  /** The named queues the workers listen on. */
  readonly queues: readonly string[];
  /** `unknown worker "x"; registered: a, b`. */
  describeUnknown(name: string): string;
}

/**
 * Builds the registry; throws `InvalidWorkerError` when two workers share a
 * name (naming both) or a worker's settings are unusable.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a registry holds workers of every payload type
export const makeWorkerRegistry = (workers: readonly Worker<any>[]): WorkerRegistry => {
  const byName = new Map<string, Worker<unknown>>();
  for (const w of workers) {
    validateWorker(w);
    const other = byName.get(w.name);
    if (other)
      throw new InvalidWorkerError(
        `two workers are named "${w.name}": ${other.constructor.name} and ${w.constructor.name}; worker names must be unique`,
      );
    byName.set(w.name, w);
  }
  const names = [...byName.keys()].sort();
  return {
    get: (name) => byName.get(name),
    names,
    workers: [...byName.values()],
    queues: [...new Set([...byName.values()].map((w) => w.queue))].sort(),
    describeUnknown: (name) => `unknown worker ${quote(name)}; registered: ${names.length > 0 ? names.join(', ') : '(none)'}`,
  };
};
