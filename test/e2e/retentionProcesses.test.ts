// Retention across processes (docs/retention.md), in both modes: three `jobtrail run --retention completed=2s`
// processes on one SQLite file, with the in-process broker and on RabbitMQ, one SIGKILLed while jobs flow.
// Afterwards every completed job is gone from the store and the lists, purged exactly once (one `JobsPurged` record
// names it), the failed ones (kept 7 days) remain; `jobtrail purge` as a subprocess then purges those by filter,
// with a line per job and the record of who and why.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore } from '../../src/backends/index.js';
import { purgeStreamName, type JobsPurgedData } from '../../src/conductor/index.js';
import { createEngine } from '../../src/engine.js';
import { makeSleeper } from '../fixtures/workers.js';
import { root, runJobtrail } from '../support/cli.js';
import { consumersOf, deleteQueues, rabbitUrl } from '../support/rabbit.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('retention: jobtrail run processes on one SQLite file, one SIGKILLed; jobtrail purge');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-retention-processes-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const spawnRun = (env: Record<string, string>, extra: readonly string[]): ChildProcess =>
  spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/bin.ts', 'run', '--retention', 'completed=2s,errored=7d', '--sweep-interval', '2000', ...extra],
    {
      cwd: root,
      env: { ...process.env, JOBTRAIL_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );

const scenario = async (mode: 'embedded' | 'rabbitmq') => {
  // A queue of its own: the RabbitMQ is shared (its work queue is deleted at the end).
  const queue = `retention-${mode}-${randomUUID().slice(0, 8)}`;
  const url = `sqlite:${join(dir, `${queue}.db`)}`;
  const broker = mode === 'rabbitmq' ? rabbitUrl : 'memory';
  const env = { JOBTRAIL_STORE: url, JOBTRAIL_BROKER: broker, JOBTRAIL_WORKERS: 'test/fixtures/workers.ts', JOBTRAIL_TEST_QUEUE: queue };
  // On RabbitMQ the processes leave jobtrail.enqueue (shared) alone: this test's engine publishes to the work queue.
  const runArgs = mode === 'rabbitmq' ? ['--no-accept-commands'] : [];
  const sleeper = makeSleeper(queue);
  const workQueue = `jobtrail.work.${queue}`;
  // The test's engine is never started: it enqueues (the run processes see the jobs in the store, or get them from
  // RabbitMQ) and reads.
  const engine = await createEngine({
    store: url,
    broker,
    workers: [sleeper],
    recover: false,
    acceptCommands: false,
    rememberBroker: false,
  });
  const children: { child: ChildProcess; exited: Promise<unknown>; err: () => string }[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const child = spawnRun(env, runArgs);
      let err = '';
      child.stderr!.on('data', (d) => (err += d));
      children.push({ child, exited: once(child, 'exit'), err: () => err });
    }
    await waitFor(() => children.every((c) => /engine started/.test(c.err())), 60_000, 'the three processes to start');
    if (mode === 'rabbitmq') await waitFor(async () => (await consumersOf('/', workQueue)) === 3, 20_000, 'the three to consume');

    const tag = randomUUID().slice(0, 8);
    const done: string[] = [];
    const failed: string[] = [];
    const enqueue = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const ok = `ok-${tag}-${done.length}`;
        done.push(ok);
        await engine.enqueue(sleeper, { ms: 20, value: i }, { jobId: ok });
        if (i % 5 === 0) {
          const bad = `bad-${tag}-${failed.length}`;
          failed.push(bad);
          // Every attempt fails: one the SIGKILL interrupts is retried (WorkerLost does not count against maxAttempts),
          // and the retry must fail too for the job to end failed.
          await engine.enqueue(sleeper, { failAttempts: [1, 2, 3, 4, 5] }, { jobId: bad, maxAttempts: 1 });
        }
      }
    };
    await enqueue(15);
    // One process goes while jobs flow; the two others go on running and expiring.
    children[0]!.child.kill('SIGKILL');
    await children[0]!.exited;
    await enqueue(15);
    await engine.waitForFinal([...done, ...failed], { timeoutMs: 60_000 });

    // Every completed job is purged (retention runs every second or so in each survivor), its stream deleted.
    const { queries } = await engine.projections();
    const history = async (jobId: string) => {
      const r = await (await makeStoreOnce()).readStream(`job-${jobId}`)();
      return E.isRight(r) ? r.right.length : -1;
    };
    let storeForReads: Awaited<ReturnType<typeof makeStore>> | undefined;
    const makeStoreOnce = async () => (storeForReads ??= await makeStore(url));
    await waitFor(
      async () => (await Promise.all(done.map((id) => engine.getJob(id)))).every((v) => v === undefined),
      30_000,
      'the completed jobs purged',
      200,
    );
    // The stream is deleted after the purge's JobPurged, once the purging process's projections folded it (up to 10 s).
    await waitFor(
      async () => (await Promise.all(done.map(history))).every((events) => events === 0),
      30_000,
      'the purged streams deleted',
      200,
    );
    for (const id of done.slice(0, 5)) assert.is(await history(id), 0, `job-${id} is deleted`);
    await waitFor(
      async () =>
        (await engine.listJobs({ workerName: 'sleeper', status: 'completed', limit: 1000 })).filter((v) => v.jobId.includes(tag)).length ===
        0,
      20_000,
      'the lists to drop them',
      100,
    );
    const failedListed = (await engine.listJobs({ workerName: 'sleeper', status: 'errored', limit: 1000 })).filter((v) =>
      v.jobId.includes(tag),
    );
    assert.is(failedListed.length, failed.length, 'the failed jobs (kept 7 days) remain');
    const dash = (await queries.getState('job-dashboard')) as { counts: { completed: number }; purged?: number };
    assert.is(dash.counts.completed, 0, 'no completed job is counted as current');
    assert.ok((dash.purged ?? 0) >= done.length);
    const records = await (await makeStoreOnce()).readStream(purgeStreamName(new Date()))();
    const purgedIds = E.isRight(records) ? records.right.flatMap((e) => (e.data as JobsPurgedData).jobIds) : [];
    // Purged exactly once: three processes purge at once, and only the one whose JobPurged went in records it.
    for (const id of done) assert.is(purgedIds.filter((x) => x === id).length, 1, `${id} is in exactly one JobsPurged record`);
    for (const id of failed) assert.not.ok(purgedIds.includes(id), `${id} (failed, kept 7 days) is not purged`);

    // By hand: a dry run, then the failed ones by filter.
    const cliEnv = { JOBTRAIL_STORE: url, JOBTRAIL_BROKER: broker };
    const dry = await runJobtrail(['purge', '--status', 'errored', '--older-than', '0s', '--dry-run'], { env: cliEnv });
    assert.is(dry.code, 0, dry.stderr);
    for (const id of failed) assert.match(dry.stdout, `${id}: would purge`);
    const purged = await runJobtrail(['purge', '--status', 'errored', '--older-than', '0s', '--by', 'ops', '--reason', 'cleanup'], {
      env: cliEnv,
    });
    assert.is(purged.code, 0, purged.stderr);
    for (const id of failed) assert.match(purged.stdout, `${id}: purged`);
    assert.match(purged.stdout, new RegExp(`purged ${failed.length}, refused 0`));
    for (const id of failed) assert.is(await engine.getJob(id), undefined);
    const after = await (await makeStoreOnce()).readStream(purgeStreamName(new Date()))();
    const cleanup = E.isRight(after) ? after.right.map((e) => e.data as JobsPurgedData).filter((d) => d.reason === 'cleanup') : [];
    assert.is(cleanup.length, 1);
    assert.is(cleanup[0]!.by, 'ops');
    assert.equal(new Set(cleanup[0]!.jobIds), new Set(failed));
    assert.equal(cleanup[0]!.filter, { status: 'errored', olderThanMs: 0 });

    // A refusal: a job that is not final, exit 1 and the reason.
    const waiting = `waiting-${tag}`;
    await engine.enqueue(sleeper, {}, { jobId: waiting, runAt: new Date(Date.now() + 3_600_000).toISOString() });
    const refused = await runJobtrail(['purge', waiting], { env: cliEnv });
    assert.is(refused.code, 1);
    assert.match(refused.stdout, `${waiting}: refused — cannot purge job "${waiting}": it is initial`);
    await storeForReads?.close();
  } finally {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGTERM');
    await Promise.all(children.map((c) => c.exited));
    await engine.close({ gracePeriodMs: 0 });
    if (mode === 'rabbitmq') await deleteQueues([workQueue, `${workQueue}.dead`]);
  }
};

test('embedded: completed jobs expire after 2 s whichever process runs them; failed ones stay; jobtrail purge removes them by filter', () =>
  scenario('embedded'));
test('RabbitMQ: the same with three processes consuming one work queue, one SIGKILLed', () => scenario('rabbitmq'));

test.run();
