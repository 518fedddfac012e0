import { makeEmbeddedEventStore, type EmbeddedEventStoreOptions } from '../eventStore/index.js';
import { setImmediate } from 'node:timers';
import * as E from 'fp-ts/lib/Either.js';
import { makeStreamPartitionsDelete, runProjections } from '../projections/index.js';
import type { StoreBackend } from './readSide.js';

/** Options of {@link makeEmbeddedStore}: the event store's; `synchronous` is its durability (docs/guarantees.md). */
export type EmbeddedStoreOptions = EmbeddedEventStoreOptions;

/**
 * The embedded store (SQLite), with its read side: jobtrail's projections
 * run in this process, their state and checkpoint kept in the same file; of
 * the processes sharing the file, the holder of its lease folds them and the
 * others read.
 */
export const makeEmbeddedStore = (options: EmbeddedStoreOptions): StoreBackend => {
  const { database, ...store } = makeEmbeddedEventStore(options);
  let deletePartitions: ((stream: string) => void) | undefined;
  let partitionsToDelete: string[] = [];
  return {
    ...store,
    // The stream's rows, then what the in-process projections hold for it (docs/retention.md).
    deleteStream: (stream, deleteOptions) => async () => {
      const deleted = await store.deleteStream(stream, deleteOptions)();
      if (E.isRight(deleted)) {
        // Those of one turn in one transaction.
        partitionsToDelete.push(stream);
        if (partitionsToDelete.length === 1)
          setImmediate(() => {
            const streams = partitionsToDelete;
            partitionsToDelete = [];
            try {
              const remove = (deletePartitions ??= makeStreamPartitionsDelete(database));
              database.transaction(() => streams.forEach(remove)).immediate();
            } catch {
              // The lock was held too long: the few bytes of these partitions stay behind, never read again.
            }
          });
      }
      return deleted;
    },
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
