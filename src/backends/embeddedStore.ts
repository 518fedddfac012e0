import { makeEmbeddedEventStore, type EmbeddedEventStoreOptions } from '../eventStore/index.js';
import { runProjections } from '../projections/index.js';
import type { StoreBackend } from './readSide.js';

export interface EmbeddedStoreOptions extends EmbeddedEventStoreOptions {
  /**
   * SQLite's `synchronous`: `FULL` syncs every commit to disk, so a recorded
   * event survives a power loss; `NORMAL` (in WAL mode) survives a crash of
   * the process but may lose the last commits to a power loss. For
   * measurements; jobtrail's guarantees assume `FULL`. Default: `FULL`.
   */
  readonly synchronous?: 'FULL' | 'NORMAL';
}

/**
 * The embedded store (SQLite), with its read side: jobtrail's projections
 * run in this process, their state and checkpoint kept in the same file; of
 * the processes sharing the file, the holder of its lease folds them and the
 * others read.
 */
export const makeEmbeddedStore = (options: EmbeddedStoreOptions): StoreBackend => {
  const { synchronous, ...storeOptions } = options;
  const { database, ...store } = makeEmbeddedEventStore(storeOptions);
  if (synchronous !== undefined) database.pragma(`synchronous = ${synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
  return {
    ...store,
    openReadSide: async ({ holderId, logger, isHolderGone }) => {
      const runtime = await runProjections({ store: { ...store, database }, holderId, logger, isHolderGone });
      return {
        queries: runtime.queries,
        runtime,
        close: async () => {
          await runtime.stop();
          await runtime.queries.close();
        },
      };
    },
  };
};
