import { resolve } from 'node:path';
import type { Broker } from '../broker/index.js';
import { makeMemoryBroker } from '../broker/memory/memoryBroker.js';
import type { RabbitBrokerOptions } from '../broker/rabbitmq/rabbitBroker.js';
import { ErrorCodes, JobtrailError } from '../errors/index.js';
import { redactUrl, silentLogger, type Logger } from '../log/index.js';
import { isSqliteUrl, parseSqliteUrl, resolveSynchronous, type Synchronous } from './durability.js';
import { makeEmbeddedStore } from './embeddedStore.js';
import type { StoreBackend } from './readSide.js';

/** Default store URL: a SQLite file under the working directory. */
export const defaultStoreUrl = 'sqlite:./.jobtrail/events.db';
/** Default broker URL: the in-process broker. */
export const defaultBrokerUrl = 'memory';

const storeForms =
  '"sqlite:<path>" (e.g. sqlite:./.jobtrail/events.db, sqlite:./jobs.db?synchronous=normal), "sqlite::memory:", "esdb://host:2113?tls=false" or "esdb+discover://…"';
const brokerForms = '"memory", "amqp://user:password@host:5672/vhost" or "amqps://user:password@host:5671/vhost"';

const invalid = (message: string) => new JobtrailError(ErrorCodes.InvalidConfig, message);

/**
 * The file of an embedded store URL (`sqlite:<path>`), as an absolute path
 * resolved against the working directory, as `makeStore` opens it; `undefined`
 * for `sqlite::memory:`, EventStoreDB and anything else. A command that only
 * reads checks it exists first: opening a store that is not there creates it.
 */
export const embeddedStoreFile = (url: string): string | undefined => {
  if (!isSqliteUrl(url)) return undefined;
  const { path } = parseSqliteUrl(url);
  return path === '' || path === ':memory:' ? undefined : resolve(path);
};

/** What {@link makeStore} takes besides the URL. */
export interface MakeStoreOptions {
  /**
   * The embedded store's durability (SQLite's `synchronous`; docs/guarantees.md), as `?synchronous=` in its URL:
   * `full` (default) or `normal`. Refused for EventStoreDB, and when the URL says another.
   */
  readonly synchronous?: Synchronous;
}

/**
 * The store a URL names, with its read side:
 * - `sqlite:<path>`, e.g. `sqlite:./.jobtrail/events.db` (relative to the working directory): the embedded store;
 *   `?synchronous=full` (the default) or `?synchronous=normal` sets its durability (docs/guarantees.md);
 * - `sqlite::memory:`: an embedded store in memory, gone on `close()`;
 * - `esdb://…` or `esdb+discover://…`: EventStoreDB, the URL being its connection string.
 *
 * Throws an `INVALID_CONFIG` error naming the accepted forms for anything else.
 */
export const makeStore = async (url: string, options: MakeStoreOptions = {}): Promise<StoreBackend> => {
  if (isSqliteUrl(url)) {
    const parsed = parseSqliteUrl(url);
    if (parsed.path === '') throw invalid(`event store URL "${url}" names no file; use ${storeForms}`);
    return makeEmbeddedStore({ path: parsed.path, synchronous: resolveSynchronous(url, parsed.synchronous, options.synchronous) });
  }
  if (options.synchronous !== undefined)
    throw invalid(
      `the synchronous option (${JSON.stringify(options.synchronous)}) is the embedded SQLite store's durability; the store ${typeof url === 'string' ? redactUrl(url) : JSON.stringify(url)} is not one: leave it out`,
    );
  if (typeof url === 'string' && (url.startsWith('esdb://') || url.startsWith('esdb+discover://'))) {
    // Loaded on demand: the EventStoreDB client (gRPC) costs the embedded mode nothing.
    const { makeEsdbStore } = await import('./esdbStore.js');
    return makeEsdbStore(url);
  }
  throw invalid(`unknown event store URL ${JSON.stringify(url)}; use ${storeForms}`);
};

/**
 * The broker a URL names (`--broker`, `JOBTRAIL_BROKER`):
 * - `memory`: the in-process broker;
 * - `amqp://user:password@host:5672/vhost` or `amqps://…`: RabbitMQ, with
 *   `rabbitOptions` (see `RabbitBrokerOptions` for their defaults).
 *
 * Rejects with an `INVALID_CONFIG` error naming the accepted forms for
 * anything else, and when RabbitMQ cannot be reached (the password is never shown).
 */
export const makeBroker = async (url: string, rabbitOptions: Omit<RabbitBrokerOptions, 'url'> = {}): Promise<Broker> => {
  const trimmed = typeof url === 'string' ? url.trim() : '';
  if (trimmed === 'memory') return makeMemoryBroker();
  if (/^amqps?:\/\//i.test(trimmed)) {
    const { makeRabbitBroker } = await import('../broker/rabbitmq/rabbitBroker.js');
    return makeRabbitBroker({ ...rabbitOptions, url: trimmed });
  }
  const shown = trimmed.includes('://') ? redactUrl(trimmed) : JSON.stringify(url);
  throw invalid(`unknown broker URL ${shown}: use ${brokerForms}`);
};

/** The adapters an engine runs on: a store with its read side, and a broker. */
export interface Backend {
  readonly store: StoreBackend;
  readonly broker: Broker;
  /** Closes what `makeBackend` opened (not what was passed as an object). */
  close(): Promise<void>;
}

/**
 * The backend that URLs (or adapters passed as objects) name: the one place
 * that parses them. What an adapter passed as an object can do, it keeps.
 */
export const makeBackend = async (options: {
  readonly store?: string | StoreBackend;
  readonly broker?: string | Broker;
  /** Where a broker made from a URL reports (a library is silent unless given a logger). */
  readonly logger?: Logger;
  /** The embedded store's durability, for a store URL (see `makeStore`). */
  readonly synchronous?: Synchronous;
}): Promise<Backend> => {
  const ownsStore = typeof options.store !== 'object';
  const ownsBroker = typeof options.broker !== 'object';
  if (!ownsStore && options.synchronous !== undefined)
    throw invalid(
      'the synchronous option applies to a store URL; for a store passed as an object, give it to makeStore(url, { synchronous })',
    );
  const store =
    typeof options.store === 'object'
      ? options.store
      : await makeStore(options.store ?? defaultStoreUrl, options.synchronous !== undefined ? { synchronous: options.synchronous } : {});
  let broker: Broker;
  try {
    const logger = options.logger ?? silentLogger;
    broker =
      typeof options.broker === 'object'
        ? options.broker
        : await makeBroker(options.broker ?? defaultBrokerUrl, {
            onWarning: (message, cause) => logger.warn(cause === undefined ? {} : { err: String(cause) }, message),
          });
  } catch (error) {
    if (ownsStore) await store.close();
    throw error;
  }
  return {
    store,
    broker,
    close: async () => {
      try {
        if (ownsBroker) await broker.close();
      } finally {
        if (ownsStore) await store.close();
      }
    },
  };
};
