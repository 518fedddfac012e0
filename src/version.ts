import { readFileSync } from 'node:fs';

/**
 * jobtrail's version, from its package.json (one folder above `src/` and
 * `dist/` alike): recorded in every event's metadata and printed by
 * `jobtrail --version`.
 */
export const engineVersion: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;
