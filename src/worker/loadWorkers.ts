import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidWorkerError, Worker } from './worker.js';

// `instanceof Worker` recognises workers made with any copy of jobtrail (see brandClass).
const collect = (value: unknown, into: Worker<unknown>[]): void => {
  if (value instanceof Worker) into.push(value);
  else if (Array.isArray(value)) for (const v of value) collect(v, into);
  else if (typeof value === 'function' && value.prototype instanceof Worker) {
    const Ctor = value as new () => Worker<unknown>;
    into.push(new Ctor());
  }
};

const typeScriptFile = /\.[cm]?tsx?$/;

/**
 * Node (20) runs no TypeScript by itself. For a `.ts` workers module, the
 * CLI registers tsx from the module's own project (found from its folder up),
 * as a development convenience; in production, compile the module and pass
 * the `.js`.
 */
export const registerTypeScript = async (file: string): Promise<void> => {
  let manifest: string;
  try {
    manifest = createRequire(file).resolve('tsx/package.json');
  } catch {
    throw new InvalidWorkerError(
      `cannot load the TypeScript module ${JSON.stringify(file)}: Node runs no TypeScript by itself. ` +
        'Compile it and pass the .js file, or install tsx in its project (npm install --save-dev tsx) to load it as it is',
    );
  }
  // tsx's ESM API (`tsx/esm/api`, its `import` entry), from the module's own project.
  const exportsMap = (JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports;
  const entry = new URL(exportsMap['./esm/api']!.import.default, pathToFileURL(manifest));
  const { register } = (await import(entry.href)) as { register: () => unknown };
  register();
};

export const isUnknownExtension = (error: unknown): boolean => (error as { code?: unknown })?.code === 'ERR_UNKNOWN_FILE_EXTENSION';

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
    try {
      mod = (await import(url)) as Record<string, unknown>;
    } catch (error) {
      if (!(isPath && typeScriptFile.test(specifier) && isUnknownExtension(error))) throw error;
      await registerTypeScript(resolve(specifier));
      // A new URL: the failed import of the first one is cached as failed.
      mod = (await import(`${url}?typescript`)) as Record<string, unknown>;
    }
  } catch (error) {
    if (error instanceof InvalidWorkerError) throw error;
    throw new InvalidWorkerError(`cannot load the workers module ${JSON.stringify(specifier)}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const found: Worker<unknown>[] = [];
  for (const value of Object.values(mod)) collect(value, found);
  const unique = [...new Set(found)];
  if (unique.length === 0)
    throw new InvalidWorkerError(
      `the module ${JSON.stringify(specifier)} exports no workers: export values made with defineWorker, or classes that extend Worker (exports: ${Object.keys(mod).join(', ') || 'none'})`,
    );
  return unique;
};
