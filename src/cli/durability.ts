import { defaultSynchronous, isSqliteUrl, parseSqliteUrl, synchronousPromise, type Synchronous } from '../backends/index.js';
import type { ProjectConfig } from '../config/index.js';

// Issue 24: the embedded store's durability as the CLI picks it: the store URL's ?synchronous=, else the config file's
// "synchronous", else full. A URL that names no sqlite: store has none (EventStoreDB syncs its own writes).

/** The durability a command's embedded store runs with, and where that came from; `undefined` when the store is not `sqlite:`. */
export const storeDurability = (
  url: string,
  project: ProjectConfig | undefined,
): { readonly synchronous: Synchronous; readonly from: string } | undefined => {
  if (!isSqliteUrl(url)) return undefined;
  const fromUrl = parseSqliteUrl(url).synchronous;
  if (fromUrl !== undefined) return { synchronous: fromUrl, from: 'the store URL' };
  if (project?.synchronous !== undefined) return { synchronous: project.synchronous, from: project.file };
  return { synchronous: defaultSynchronous, from: 'the default' };
};

/** The engine option the config file's "synchronous" becomes: only for a `sqlite:` URL that does not say its own. */
export const fileSynchronous = (url: string, project: ProjectConfig | undefined): { synchronous?: Synchronous } => {
  const d = storeDurability(url, project);
  return d !== undefined && d.from === project?.file ? { synchronous: d.synchronous } : {};
};

/** One line for people: `synchronous=full (every commit synced to disk: …)`. */
export const describeDurability = (synchronous: Synchronous): string => `synchronous=${synchronous} (${synchronousPromise[synchronous]})`;
