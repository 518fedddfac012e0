import type { EventStore } from '../eventStore/index.js';
import type { Logger } from '../log/index.js';
import type { ProjectionQueries, ProjectionsHandle } from '../projections/index.js';

/** A store's read side: its projections' states, and changes as they happen. */
export interface ReadSide {
  readonly queries: ProjectionQueries;
  /** The in-process runtime that folds the projections (the embedded store); `undefined` where the server runs them (EventStoreDB). */
  readonly runtime?: ProjectionsHandle;
  /** Stops what the read side runs; the store stays open. */
  close(): Promise<void>;
}

/** What opening a read side needs from the engine. */
export interface ReadSideOptions {
  /** This process, as the holder of the projections' lease (embedded). */
  readonly holderId: string;
  readonly logger: Logger;
  /** Whether a lease holder is known to be gone, so its lease is taken over at once. */
  readonly isHolderGone: (holder: string) => boolean;
}

/**
 * An event store with the read side it brings: the embedded store runs the
 * projections in-process under its file's lease; EventStoreDB's server runs
 * them, read through the store's own client. `close()` closes the store and
 * whatever was opened with it.
 */
export interface StoreBackend extends EventStore {
  openReadSide(options: ReadSideOptions): Promise<ReadSide>;
  /** The embedded store's durability in force (SQLite's `synchronous`, docs/guarantees.md); absent for EventStoreDB. */
  readonly synchronous?: 'full' | 'normal';
}

/** A store's read side as a process holds it: opened on first use, caught up before it answers. */
export interface HeldReadSide {
  /** The open read side, caught up: where this process holds the projections' lease, it first folds what the store held. */
  current(): Promise<ReadSide>;
  /** The open read side as it is, without waiting to catch up (retention: a busy store is never caught up for long). */
  opened(): Promise<ReadSide>;
  /** Runs `f` on the read side as of now: the open one, or one opened for `f` and closed after (recovery at start). */
  use<A>(f: (readSide: ReadSide) => Promise<A>): Promise<A>;
  /** Closes the read side if it was opened. */
  close(): Promise<void>;
}

/**
 * Holds `store`'s read side for a process: a process that only runs jobs
 * never opens it (it folds nothing); a reader (listJobs, a dashboard) opens
 * it on first use and keeps it.
 */
export const holdReadSide = (store: StoreBackend, options: ReadSideOptions): HeldReadSide => {
  let open: Promise<ReadSide> | undefined;
  const caughtUp = async (r: ReadSide) => {
    if (r.runtime?.isLeader()) await r.runtime.caughtUp({ timeoutMs: 60_000 });
    return r;
  };
  return {
    current: async () => caughtUp(await (open ??= store.openReadSide(options))),
    opened: () => (open ??= store.openReadSide(options)),
    use: async (f) => {
      if (open) return f(await caughtUp(await open));
      const r = await store.openReadSide(options);
      try {
        return await f(await caughtUp(r));
      } finally {
        await r.close();
      }
    },
    close: async () => {
      if (open) await (await open.catch(() => undefined))?.close();
    },
  };
};
