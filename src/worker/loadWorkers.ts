import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidWorkerError, Worker } from './worker.js';

const collect = (value: unknown, into: Worker<unknown>[]): void => {
  if (value instanceof Worker) into.push(value);
  else if (Array.isArray(value)) for (const v of value) collect(v, into);
  else if (typeof value === 'function' && value.prototype instanceof Worker) {
    const Ctor = value as new () => Worker<unknown>;
    into.push(new Ctor());
  }
};

/**
 * Imports a module (a file path, relative to the working directory, or a
 * package name) and returns the workers among its exports: values made with
 * `defineWorker`, `Worker` subclasses (instantiated with no arguments), or
 * arrays of either. Throws when there are none.
 */
export const loadWorkers = async (specifier: string): Promise<Worker<unknown>[]> => {
  const isPath = specifier.startsWith('.') || isAbsolute(specifier) || existsSync(resolve(specifier));
  const url = isPath ? pathToFileURL(resolve(specifier)).href : specifier;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw new InvalidWorkerError(`cannot load the workers module ${JSON.stringify(specifier)}: ${(error as Error).message}`);
  }
  const found: Worker<unknown>[] = [];
  for (const value of Object.values(mod)) collect(value, found);
  const unique = [...new Set(found)];
  if (unique.length === 0)
    throw new InvalidWorkerError(`the module ${JSON.stringify(specifier)} exports no workers (use defineWorker or extend Worker)`);
  return unique;
};
