// Recurring jobs on an EventStoreDB store (the fake node, its Projections
// service, the projections installed as users do): two engines fire a
// schedule every second; each tick is one job, none missing, all completed.
import { EventStoreDBClient } from '@eventstore/db-client';
import * as t from 'io-ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore } from '../../src/backends/index.js';
import { makeMemoryBroker } from '../../src/broker/index.js';
import { createEngine, defineWorker, type Engine } from '../../src/index.js';
import { installProjections } from '../../src/projections/esdb.js';
import { projectionsDir } from '../../src/projections/index.js';
import { startFakeEsdb } from '../support/fakeEsdb/index.js';
import { addProjectionsService } from '../support/fakeEsdb/projections.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('schedules on EventStoreDB (fake node)');

test('two engines, a schedule every second: one job per tick, consecutive, all completed', async () => {
  const fake = await startFakeEsdb({ systemProjections: ['$by_category'], services: (s, l) => void addProjectionsService(s, l) });
  const client = EventStoreDBClient.connectionString(fake.connectionString);
  await installProjections(client, projectionsDir);
  const worker = defineWorker({ name: 'tick', payload: t.type({}), action: async () => 'ok' });
  const engines: Engine[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const engine = await createEngine({ store: await makeStore(fake.connectionString), broker: makeMemoryBroker(), workers: [worker] });
      engines.push(engine);
      await engine.start();
    }
    const [a] = engines as [Engine];
    await a.upsertSchedule('every-second', { cron: '* * * * * *', workerName: 'tick', payload: {} });
    await waitFor(async () => (await a.listJobs({ limit: 100 })).length >= 4, 15_000, 'four ticks to fire');
    await a.removeSchedule('every-second');
    const jobs = await a.listJobs({ limit: 100 });
    const ticks = jobs.map((j) => j.jobId).sort();
    assert.is(new Set(ticks).size, ticks.length, 'one job per tick');
    const times = ticks.map((id) => Date.parse(id.slice('every-second@'.length)));
    for (let i = 1; i < times.length; i++) assert.is(times[i]! - times[i - 1]!, 1000, `consecutive ticks: ${ticks.join(', ')}`);
    const final = await a.waitForFinal(ticks, { timeoutMs: 10_000 });
    assert.ok(
      final.every((v) => v.status === 'completed' && v.scheduleId === 'every-second'),
      JSON.stringify(final.map((v) => v.status)),
    );
  } finally {
    for (const e of engines) await e.close({ gracePeriodMs: 0 });
    await client.dispose();
    await fake.stop();
  }
});

test.run();
