// The dashboard on an EventStoreDB store (the fake node with its Projections
// service): an unknown job id is a 404, not a 500 — the server answers `{}`
// for a job-view partition it has not folded (review finding 1) — and a job
// the projection has not reached yet still has its page, read from its stream.
import { EventStoreDBClient } from '@eventstore/db-client';
import * as t from 'io-ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore } from '../../src/backends/index.js';
import { makeMemoryBroker } from '../../src/broker/index.js';
import { runDashboard } from '../../src/dashboard/index.js';
import { createEngine, defineWorker } from '../../src/index.js';
import { installProjections } from '../../src/projections/esdb.js';
import { ProjectionNotInstalledError, projectionsDir } from '../../src/projections/index.js';
import { startFakeEsdb } from '../support/fakeEsdb/index.js';
import { addProjectionsService, type FakeProjections } from '../support/fakeEsdb/projections.js';

const test = suite('the dashboard on EventStoreDB (fake node)');

test('an unknown job is 404 on its page and its events; a job the projection has not folded has its page', async () => {
  let projections: FakeProjections | undefined;
  const fake = await startFakeEsdb({
    systemProjections: ['$by_category'],
    services: (server, log) => {
      projections = addProjectionsService(server, log);
    },
  });
  const client = EventStoreDBClient.connectionString(fake.connectionString);
  const worker = defineWorker({ name: 'noop', payload: t.type({}), action: async () => 'ok' });
  const engine = await createEngine({
    store: await makeStore(fake.connectionString),
    broker: makeMemoryBroker(),
    workers: [worker],
    recover: false,
  });
  await installProjections(client, projectionsDir);
  const dashboard = await runDashboard({ engine, port: 0 });
  try {
    for (const path of ['jobs/nope', 'jobs/nope/events']) {
      const r = await fetch(new URL(path, dashboard.url));
      assert.is(r.status, 404, `${path}: ${r.status}`);
      await r.body?.cancel();
    }
    // Every state read as `{}` while the projections "start": the page reads the stream.
    projections!.startingFor(60_000);
    await engine.enqueue(worker, {}, { jobId: 'fresh' });
    const page = await fetch(new URL('jobs/fresh', dashboard.url));
    assert.is(page.status, 200);
    assert.match(await page.text(), 'fresh');
  } finally {
    await dashboard.stop();
    await engine.close();
    await client.dispose();
    await fake.stop();
  }
});

test('before projections install, the dashboard refuses to start with the fix, not a raw NotFound', async () => {
  const fake = await startFakeEsdb({ services: (server, log) => void addProjectionsService(server, log) });
  const worker = defineWorker({ name: 'noop', payload: t.type({}), action: async () => 'ok' });
  const engine = await createEngine({
    store: await makeStore(fake.connectionString),
    broker: makeMemoryBroker(),
    workers: [worker],
    recover: false,
  });
  try {
    let failed: unknown;
    try {
      const d = await runDashboard({ engine, port: 0 });
      await d.stop();
    } catch (error) {
      failed = error;
    }
    assert.instance(failed, ProjectionNotInstalledError);
    assert.match((failed as Error).message, 'run `jobtrail projections install`');
  } finally {
    await engine.close();
    await fake.stop();
  }
});

test.run();
