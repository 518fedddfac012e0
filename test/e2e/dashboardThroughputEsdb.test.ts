// The throughput charts on an EventStoreDB installed before job-throughput
// existed (the fake node with its Projections service): the overview still
// renders, /api/throughput answers 503 with the fix, and after `projections
// install` it counts the jobs run from then on.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventStoreDBClient } from '@eventstore/db-client';
import * as t from 'io-ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore } from '../../src/backends/index.js';
import { makeMemoryBroker } from '../../src/broker/index.js';
import { runDashboard } from '../../src/dashboard/index.js';
import { createEngine, defineWorker } from '../../src/index.js';
import { installProjections } from '../../src/projections/esdb.js';
import { projectionsDir } from '../../src/projections/index.js';
import { startFakeEsdb } from '../support/fakeEsdb/index.js';
import { addProjectionsService } from '../support/fakeEsdb/projections.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('the throughput charts on EventStoreDB (fake node) without, then with, job-throughput');

test('without job-throughput: the overview renders and /api/throughput says to install it; after install it counts', async () => {
  const fake = await startFakeEsdb({
    systemProjections: ['$by_category'],
    services: (server, log) => void addProjectionsService(server, log),
  });
  const client = EventStoreDBClient.connectionString(fake.connectionString);
  // The projections of an earlier jobtrail: everything but job-throughput.
  for (const [name, file, emitEnabled] of [
    ['job-view', 'job-view.js', false],
    ['job-dashboard', 'job-dashboard.js', false],
    ['job-index', join('esdb', 'job-index.js'), true],
  ] as const)
    await client.createProjection(name, readFileSync(join(projectionsDir, file), 'utf8'), { emitEnabled });
  const worker = defineWorker({ name: 'noop', payload: t.type({}), action: async () => 'ok' });
  const engine = await createEngine({
    store: await makeStore(fake.connectionString),
    broker: makeMemoryBroker(),
    workers: [worker],
    recover: false,
  });
  await engine.start();
  const dashboard = await runDashboard({ engine, port: 0 });
  try {
    const page = await fetch(dashboard.url);
    assert.is(page.status, 200);
    assert.match(await page.text(), 'data-throughput-history');
    const refused = await fetch(new URL('api/throughput', dashboard.url));
    assert.is(refused.status, 503);
    assert.match(((await refused.json()) as { error: string }).error, 'the EventStoreDB projection "job-throughput" is not installed');

    await installProjections(client, projectionsDir, { settleMs: 0 });
    await engine.enqueue(worker, {}, { jobId: 'after-install' });
    await engine.waitForFinal(['after-install'], { timeoutMs: 10_000 });
    let totals: Record<string, number> = {};
    await waitFor(
      async () => {
        const r = await fetch(new URL('api/throughput?range=hour', dashboard.url));
        totals = r.ok ? ((await r.json()) as { totals: Record<string, number> }).totals : {};
        return totals['completed'] === 1;
      },
      15_000,
      'the last hour to count the job',
      100,
    );
    assert.equal(totals, { enqueued: 1, completed: 1, failed: 0, errored: 0, cancelled: 0 });
  } finally {
    await dashboard.stop();
    await engine.close();
    await client.dispose();
    await fake.stop();
  }
});

test.run();
