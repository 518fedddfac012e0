// The fake EventStoreDB server now lives in test/support/fakeEsdb/ (see its index.ts); this keeps the old import path.
export { startFakeEsdb } from './fakeEsdb/index.js';
export type { FakeEsdb, FakeEsdbOptions, FaultPlan } from './fakeEsdb/index.js';
