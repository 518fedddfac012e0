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
}
