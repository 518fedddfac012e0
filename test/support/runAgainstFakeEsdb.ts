// Runs selected tests with ESDB_URL pointing at the fake EventStoreDB
// (test/support/fakeEsdb, with its Projections service): a check of the
// ESDB_URL wiring (test/support/testStore.ts) without a server. It is not a
// check of EventStoreDB: for that, run them against a real server
// (ESDB_URL=esdb://localhost:2113?tls=false npm test; docs/eventstoredb.md).
//
//   node --import tsx test/support/runAgainstFakeEsdb.ts '<regex of test files>'
//
// The fake lives in this process; the tests run in runTests.js's child
// processes and reach it over gRPC on 127.0.0.1. Exits with runTests.js's code.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startFakeEsdb } from './fakeEsdb/index.js';
import { addProjectionsService } from './fakeEsdb/projections.js';

const pattern = process.argv[2];
if (!pattern) {
  console.error("usage: node --import tsx test/support/runAgainstFakeEsdb.ts '<regex of test files>'");
  process.exit(2);
}

const fake = await startFakeEsdb({ services: (server, log) => void addProjectionsService(server, log) });
console.log(`fake EventStoreDB at ${fake.connectionString}: ESDB_URL for ${pattern}`);
const runner = fileURLToPath(new URL('./runTests.js', import.meta.url));
const child = spawn(process.execPath, [runner, pattern], {
  stdio: 'inherit',
  env: { ...process.env, ESDB_URL: fake.connectionString },
});
const code = await new Promise<number>((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
await fake.stop();
process.exit(code);
