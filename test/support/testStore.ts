// Which store the store-independent engine, CLI and job-store tests run on:
// the embedded store (a new SQLite file, or memory) by default, or the
// EventStoreDB server ESDB_URL names (e.g. ESDB_URL=esdb://localhost:2113?tls=false
// npm test; docs/eventstoredb.md). A server is shared by every test and every
// run, so a test on it must not assume an empty store: job ids that a test
// fixes go through `testJobId`, which makes them unique per run there.
// Tests about the embedded store itself (its file, lease, SQLite errors) do
// not use this: they stay on SQLite.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';

/** The EventStoreDB the tests run against (ESDB_URL), or `undefined`: the embedded store. */
export const esdbUrl: string | undefined = process.env.ESDB_URL?.trim() || undefined;

/** How the suites name the store they run on. */
export const testStoreLabel: string = esdbUrl ? `EventStoreDB at ${esdbUrl}` : 'embedded store';

/** The store URL of a test: ESDB_URL when set, else the SQLite file `name` in the test's own folder `dir`. */
export const testStoreUrl = (dir: string, name = 'events.db'): string => esdbUrl ?? `sqlite:${join(dir, name)}`;

/** The store URL of a test that keeps nothing: ESDB_URL when set, else SQLite in memory. */
export const testMemoryStoreUrl = (): string => esdbUrl ?? 'sqlite::memory:';

/** This run, on a shared server: a suffix that keeps its job ids apart from earlier runs'. */
const runTag = randomUUID().slice(0, 8);

/** A job id a test fixes: itself on the embedded store (a fresh file per test), made unique per run on EventStoreDB. */
export const testJobId = (id: string): string => (esdbUrl ? `${id}-${runTag}` : id);

let projections: Promise<void> | undefined;

/**
 * On EventStoreDB, installs jobtrail's projections (once per process; an
 * update when they exist), which every read (getJob, listJobs, recovery at
 * start) needs; on the embedded store, nothing. Call it in a suite's `before`.
 */
export const readyTestStore = (): Promise<void> => {
  if (!esdbUrl) return Promise.resolve();
  projections ??= (async () => {
    const [{ EventStoreDBClient }, { installProjections }] = await Promise.all([
      import('@eventstore/db-client'),
      import('../../src/projections/esdb.js'),
    ]);
    const client = EventStoreDBClient.connectionString(esdbUrl);
    try {
      await installProjections(client);
    } finally {
      await client.dispose();
    }
  })();
  return projections;
};
