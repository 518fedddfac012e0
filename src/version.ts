import { readFileSync } from 'node:fs';

/** The version in jobtrail's package.json: the first one named `jobtrail` above this module (`src/`, `dist/`, or a build of its own). */
const readVersion = (): string => {
  for (let dir = new URL('./', import.meta.url); ; dir = new URL('../', dir)) {
    try {
      const manifest = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'jobtrail' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // No package.json here: look one folder up.
    }
    if (new URL('../', dir).href === dir.href) throw new Error(`jobtrail: no package.json named jobtrail above ${import.meta.url}`);
  }
};

/** jobtrail's version: recorded in every event's metadata and printed by `jobtrail --version`. */
export const engineVersion: string = readVersion();
