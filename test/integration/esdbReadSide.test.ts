// The EventStoreDB read side against the fake server's Projections service
// (test/support/fakeEsdb/projections.ts): `{}` as no state, bounded lists over
// job-index, subscriptions that survive drops and lag, what a job costs in
// records, and `jobtrail projections install` run as a user runs it.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EventStoreDBClient, jsonEvent, NotFoundError, UnknownError } from '@eventstore/db-client';
import { installProjections, makeEsdbProjectionQueries, unwrapState } from '../../src/projections/esdb.js';
import type { JobDashboard } from '../../src/projections/index.js';
import { ProjectionNotInstalledError, projectionsDir } from '../../src/projections/index.js';
import { countRecords } from '../support/fakeEsdb/projections.js';
import { root } from '../support/cli.js';
import { startProjectionsFake, type ProjectionsFake } from './esdbProjectionsFake.js';

const test = suite('EventStoreDB read side (fake server)');

const enqueued = (id: string, worker = 'w') =>
  jsonEvent({
    type: 'JobEnqueued',
    data: {
      jobId: id,
      workerName: worker,
      queue: 'default',
      payload: {},
      maxAttempts: 3,
      enqueuedAt: `2024-01-01T00:00:0${id.length % 10}.000Z`,
    },
  });
const started = (attempt: number) =>
  jsonEvent({ type: 'JobStarted', data: { attempt, workerId: 'h:1:a', backgroundJobId: 'b', startedAt: '2024-01-01T00:01:00.000Z' } });
const completed = (attempt: number) =>
  jsonEvent({ type: 'JobCompleted', data: { attempt, completedAt: '2024-01-01T00:02:00.000Z', durationMs: 5 } });
const progressed = (attempt: number) =>
  jsonEvent({ type: 'JobProgressed', data: { attempt, at: '2024-01-01T00:01:30.000Z', percent: 50 } });

const withFake = async (
  f: (fake: ProjectionsFake, client: EventStoreDBClient) => Promise<void>,
  options: Parameters<typeof startProjectionsFake>[0] = {},
) => {
  const fake = await startProjectionsFake(options);
  const client = EventStoreDBClient.connectionString(fake.connectionString);
  try {
    await f(fake, client);
  } finally {
    await client.dispose();
    await fake.stop();
  }
};

const until = async (condition: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('finding 12: a bi-state pair is unwrapped to the part asked for; `{}` is no state', () => {
  assert.equal(unwrapState({ biState: true }, [{ p: 1 }, { shared: 1 }]), { shared: 1 });
  assert.equal(unwrapState({ biState: true }, [{ p: 1 }, { shared: 1 }], 'job-a'), { p: 1 });
  assert.is(unwrapState({ biState: false }, {}), undefined);
  assert.equal(unwrapState({ biState: false }, { status: 'initial' }), { status: 'initial' });
});

test('finding 12: a projection not installed is ProjectionNotInstalledError, from 24.10 (NotFound) and 23.10 (an UnknownError naming NotFound)', async () => {
  const answers = [
    new NotFoundError(undefined, "Projection 'job-dashboard' not found"),
    new UnknownError(undefined, 'Envelope callback expected ProjectionState, received NotFound instead'),
  ];
  for (const answer of answers) {
    const client = { getProjectionState: async () => Promise.reject(answer) } as unknown as EventStoreDBClient;
    const queries = await makeEsdbProjectionQueries({ client });
    const failed = await queries.getState('job-dashboard').catch((e: unknown) => e);
    assert.instance(failed, ProjectionNotInstalledError, String(failed));
    assert.match((failed as Error).message, 'run `jobtrail projections install`');
    await queries.close();
  }
});

test('finding 1: an unknown or unfolded partition, and any state while starting, read as no state; lists skip nothing they can fold', async () => {
  await withFake(async (fake, client) => {
    await installProjections(client, projectionsDir, { settleMs: 0 });
    const queries = await makeEsdbProjectionQueries({ client });
    try {
      assert.is(await queries.getState('job-view', 'job-unknown'), undefined);
      await client.appendToStream('job-a', [enqueued('a')]);
      await fake.projections!.idle();
      assert.is(((await queries.getState('job-view', 'job-a')) as { status: string }).status, 'initial');
      fake.projections!.startingFor(60_000);
      assert.is(await queries.getState('job-view', 'job-a'), undefined, 'starting: {} is no state');
      assert.is(await queries.getState('job-dashboard'), undefined);
      // The list still has the job: folded from its own stream while job-view serves nothing.
      const page = await queries.listJobViews({});
      assert.equal(
        page.jobs.map((j) => [j.jobId, j.status]),
        [['a', 'initial']],
      );
    } finally {
      await queries.close();
    }
  });
});

test('findings 6 and 7: lists read the index: each job once, at its newest entry, only while its status matches; bounded pages', async () => {
  await withFake(async (fake, client) => {
    await installProjections(client, projectionsDir, { settleMs: 0 });
    const queries = await makeEsdbProjectionQueries({ client });
    try {
      for (let i = 0; i < 30; i++) await client.appendToStream(`job-j${i}`, [enqueued(`j${i}`, i % 2 === 0 ? 'even' : 'odd')]);
      for (let i = 0; i < 10; i++) await client.appendToStream(`job-j${i}`, [started(1), completed(1)]);
      await fake.projections!.idle();
      const initial = await queries.listJobViews({ status: 'initial', limit: 1000 });
      assert.is(initial.jobs.length, 20);
      assert.ok(initial.jobs.every((j) => j.status === 'initial'));
      const done = await queries.listJobViews({ status: 'completed', workerName: 'even', limit: 1000 });
      assert.equal(done.jobs.map((j) => j.jobId).sort(), ['j0', 'j2', 'j4', 'j6', 'j8']);
      // Paging: each job once.
      const seen: string[] = [];
      let after: string | undefined;
      do {
        const page = await queries.listJobViews({ workerName: 'odd', limit: 4, ...(after !== undefined ? { after } : {}) });
        seen.push(...page.jobs.map((j) => j.jobId));
        after = page.next;
      } while (after !== undefined);
      assert.is(seen.length, 15);
      assert.is(new Set(seen).size, 15);
    } finally {
      await queries.close();
    }
  });
});

test('finding 6: records written per job, job-view with outputState() (before) and without, with job-index (after)', async () => {
  const perJob = async (withOutputState: boolean) => {
    let counts: ReturnType<typeof countRecords> | undefined;
    await withFake(async (fake, client) => {
      const view = readFileSync(`${projectionsDir}/job-view.js`, 'utf8');
      await client.createProjection('job-view', withOutputState ? view.replace(/\}\);\s*$/, '}).outputState();\n') : view);
      await client.createProjection('job-dashboard', readFileSync(`${projectionsDir}/job-dashboard.js`, 'utf8'));
      if (!withOutputState)
        await client.createProjection('job-index', readFileSync(`${projectionsDir}/esdb/job-index.js`, 'utf8'), { emitEnabled: true });
      for (let i = 0; i < 10; i++) await client.appendToStream(`job-r${i}`, [enqueued(`r${i}`), started(1), progressed(1), completed(1)]);
      await fake.projections!.idle();
      await new Promise((r) => setTimeout(r, 50));
      counts = countRecords(fake.log);
      assert.equal(
        fake.projections!.list().filter((p) => p.faultReason !== undefined),
        [],
      );
    });
    const c = counts!;
    return { ...c, perJob: (c.user + c.ce + c.category + c.index + c.result + c.other) / 10 };
  };
  const before = await perJob(true);
  const after = await perJob(false);
  console.log(`records per 4-event job: before ${JSON.stringify(before)}; after ${JSON.stringify(after)}`);
  // Before: 4 events + 4 $ce- links + 2 result records per state change (4) = 16. After: 4 + 4 + 5 index links = 13.
  assert.is(before.perJob, 16);
  assert.is(after.perJob, 13);
  assert.is(after.result, 0);
  assert.is(after.index, 50);
});

test('finding 3: subscriptions resubscribe after a drop; a lagging projection still delivers its final state', async () => {
  await withFake(async (fake, client) => {
    await installProjections(client, projectionsDir, { settleMs: 0 });
    const errors: unknown[] = [];
    const queries = await makeEsdbProjectionQueries({ client, onError: (e) => errors.push(e), resubscribeBackoff: () => 50 });
    try {
      const dashboards: JobDashboard[] = [];
      const views: string[] = [];
      queries.subscribe('job-dashboard', (c) => c.state !== undefined && dashboards.push(c.state as JobDashboard));
      queries.subscribe('job-view', (c) => c.partition !== undefined && views.push(c.partition));
      await new Promise((r) => setTimeout(r, 200));
      await client.appendToStream('job-s1', [enqueued('s1')]);
      await until(() => dashboards.some((d) => d.jobs === 1) && views.includes('job-s1'));
      fake.dropSubscriptions();
      await new Promise((r) => setTimeout(r, 300));
      await client.appendToStream('job-s2', [enqueued('s2')]);
      await until(() => dashboards.some((d) => d.jobs === 2) && views.includes('job-s2'));
      assert.ok(errors.length > 0, 'the drop was reported');
      // Lagging far beyond the old 300 ms settle read: the final state still arrives.
      fake.projections!.lagBy(1_500);
      await client.appendToStream('job-s3', [enqueued('s3')]);
      await until(() => dashboards.some((d) => d.jobs === 3) && views.includes('job-s3'), 15_000);
    } finally {
      await queries.close();
    }
  });
});

const runCli = (args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', ...args], {
      cwd: root,
      env: { ...process.env, JOBTRAIL_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });

test('findings 4 and 5: projections install waits for the subsystem, enables $by_category, reports statuses', async () => {
  await withFake(
    async (fake) => {
      fake.projections!.readyAfter(2_500);
      const r = await runCli(['projections', 'install', '--store', fake.connectionString, '--timeout', '30']);
      assert.is(r.code, 0, r.stderr);
      assert.match(r.stdout, 'waiting for EventStoreDB');
      assert.match(r.stdout, 'enabling $by_category');
      assert.match(r.stdout, /created job-view \(emitEnabled: false\): Running/);
      assert.match(r.stdout, /created job-index \(emitEnabled: true\): Running/);
      assert.ok(fake.log.systemProjectionEnabled('$by_category'));
    },
    { systemProjections: [] },
  );
});

test('finding 5: a faulted projection fails the install with its reason; no projection subsystem names RunProjections=All', async () => {
  await withFake(async (fake, client) => {
    await client.appendToStream('job-bad', [jsonEvent({ type: 'JobStarted', data: { attempt: 1 } })]);
    await client.appendToStream('job-bad2', [jsonEvent({ type: 'JobEnqueued', data: null as unknown as Record<string, unknown> })]);
    const r = await runCli(['projections', 'install', '--store', fake.connectionString, '--timeout', '20']);
    assert.is(r.code, 1, r.stdout);
    assert.match(r.stderr, /projection job-\w+ is Faulted \(Enabled\): TypeError/);
  });
  await withFake(
    async (fake) => {
      const r = await runCli(['projections', 'install', '--store', fake.connectionString, '--timeout', '10']);
      assert.is(r.code, 1);
      assert.match(r.stderr, 'RunProjections=All');
    },
    { projections: false },
  );
});

test.run();
