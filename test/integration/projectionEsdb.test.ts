// The projection files installed in EventStoreDB (projections on), read
// through makeEsdbProjectionQueries: against a real server when ESDB_URL is set
// (e.g. esdb://localhost:2113?tls=false), else against the fake server with its
// Projections service (test/support/fakeEsdb/projections.ts).
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { fold, type JobEvent, type JobView } from '../../src/job/index.js';
import { makeMemoryProjection, type JobDashboard, type ProjectionChange } from '../../src/projections/index.js';
import { installProjections, makeEsdbProjectionQueries } from '../../src/projections/esdb.js';
import { asJson, fixtureEvents, projectionSource, readFixture } from '../support/projectionFixtures.js';
import { recountDashboard } from '../support/projectionRecount.js';
import { startProjectionsFake, type ProjectionsFake } from './esdbProjectionsFake.js';

const test = suite('projections in EventStoreDB');
const realUrl = process.env.ESDB_URL;
let fake: ProjectionsFake | undefined;
let url = realUrl ?? '';
test.before(async () => {
  if (realUrl === undefined || realUrl === '') {
    // A fresh server: $by_category off until install enables it.
    fake = await startProjectionsFake({ systemProjections: [] });
    url = fake.connectionString;
  }
});
test.after(async () => {
  await fake?.stop();
});

{
  test('installs the projections (create, then update); states equal fold and the recount; list and subscribe', async () => {
    const client = EventStoreDBClient.connectionString(url);
    const queries = await makeEsdbProjectionQueries({ client, settleMs: 200 });
    try {
      const first = await installProjections(client);
      assert.equal(first.map((p) => p.name).sort(), ['job-dashboard', 'job-index', 'job-throughput', 'job-view']);
      assert.equal(
        first.filter((p) => p.emitEnabled).map((p) => p.name),
        ['job-index'],
        'only job-index emits (linkTo)',
      );
      assert.ok(first.every((p) => p.health?.faulted === false));
      const again = await installProjections(client);
      assert.ok(
        again.every((p) => p.action === 'updated'),
        'a second install updates',
      );

      // Unique job ids and worker names: the server keeps what earlier runs wrote.
      const run = randomUUID().slice(0, 8);
      const lines = readFixture().map((l) => {
        const jobId = `${l.streamId.slice('job-'.length)}-${run}`;
        const data =
          l.type === 'JobEnqueued'
            ? { ...(l.data as object), jobId, workerName: `${(l.data as { workerName: string }).workerName}-${run}` }
            : l.data;
        return { stream: `job-${jobId}`, type: l.type, data, metadata: l.metadata };
      });
      // On a fresh server the state is `{}`, which reads as no state.
      const before = (await queries.getState('job-dashboard')) as JobDashboard | undefined;
      const views: ProjectionChange[] = [];
      const stop = queries.subscribe('job-view', (c) => views.push(c));
      for (const l of lines)
        await client.appendToStream(l.stream, jsonEvent({ type: l.type, data: l.data as Record<string, unknown>, metadata: l.metadata }));

      const streams = new Map<string, JobEvent[]>();
      for (const l of lines) streams.set(l.stream, [...(streams.get(l.stream) ?? []), { type: l.type, data: l.data } as JobEvent]);
      for (const [stream, events] of streams) {
        const expected = asJson(fold(events));
        await queries.waitFor('job-view', (s) => isDeepStrictEqual(s, expected), { partition: stream, timeoutMs: 20_000 });
      }
      const recount = recountDashboard(lines.map((l) => ({ stream: l.stream, event: { type: l.type, data: l.data } as JobEvent })));
      const after = (await queries.waitFor(
        'job-dashboard',
        (s) => (s as JobDashboard | undefined)?.jobs === (before?.jobs ?? 0) + recount.jobs,
        { timeoutMs: 20_000 },
      )) as JobDashboard;
      for (const status of Object.keys(recount.counts) as Array<keyof JobDashboard['counts']>)
        assert.is(after.counts[status] - (before?.counts[status] ?? 0), recount.counts[status], `${status} count moved by the recount`);

      const mine = await queries.listJobViews({ workerName: `send-email-${run}`, limit: 2 });
      const rest =
        mine.next !== undefined
          ? await queries.listJobViews({ workerName: `send-email-${run}`, limit: 10, after: mine.next })
          : { jobs: [] as JobView[] };
      const expectedIds = [...streams.entries()]
        .filter(([, es]) => (es[0]?.data as { workerName: string }).workerName === `send-email-${run}`)
        // A purged job is listed nowhere (docs/retention.md).
        .filter(([, es]) => es[es.length - 1]?.type !== 'JobPurged')
        .map(([s]) => s.slice(4));
      assert.equal([...mine.jobs, ...rest.jobs].map((j) => j.jobId).sort(), expectedIds.sort());

      // job-throughput: its hour partitions hold what the embedded runtime folds from the same events (on a
      // fresh server exactly; a shared one holds earlier runs' counts of the same hours as well).
      const ours = makeMemoryProjection({ name: 'job-throughput', source: projectionSource('job-throughput') });
      assert.is(ours.feed(fixtureEvents(readFixture())), undefined);
      for (const partition of ours.partitions()) {
        const mine = ours.state(partition) as { h: number; n: number[] };
        const theirs = (await queries.waitFor(
          'job-throughput',
          (s) => (s as { h?: number } | undefined)?.h === mine.h && ((s as { n: number[] }).n[0] ?? 0) >= (mine.n[0] ?? 0),
          { partition, timeoutMs: 20_000 },
        )) as { h: number; n: number[] };
        if (fake !== undefined) assert.equal(theirs, mine, `job-throughput partition ${partition}`);
      }

      await waitUntil(() => views.some((c) => c.partition !== undefined && streams.has(c.partition)), 20_000);
      stop();
    } finally {
      await queries.close();
      await client.dispose();
    }
  });
}

const waitUntil = async (condition: () => boolean, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test.run();
