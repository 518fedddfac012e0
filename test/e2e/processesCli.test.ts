// The Processes list (docs/processes.md), in both modes: two `jobtrail run` processes (from the sources, through tsx),
// on one SQLite file with the in-process broker, and on RabbitMQ. `jobtrail processes --json` shows both running with
// what they say of themselves; one is SIGKILLed while it runs an attempt: it shows as gone and its attempt recovered
// (WorkerLost, by the other's sweep or the redelivery); the Processes page in Chromium shows the same; the other,
// after SIGTERM, shows as stopped.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, type Engine } from '../../src/engine.js';
import { engineVersion } from '../../src/version.js';
import { runDashboard } from '../../src/dashboard/index.js';
import type { ProcessSummary } from '../../src/processes/index.js';
import { makeSleeper } from '../fixtures/workers.js';
import { launchBrowser, saveScreenshot, watchProblems } from '../support/browser.js';
import { root } from '../support/cli.js';
import { deleteQueues, rabbitUrl } from '../support/rabbit.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('jobtrail processes: two run processes, one SIGKILLed, one stopped');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-processes-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const jobtrail = (args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/bin.ts', ...args],
      { cwd: root, env: { ...process.env, JOBTRAIL_LOG_LEVEL: 'warn', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });

const spawnRun = (env: Record<string, string>, extra: readonly string[]) => {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'run', ...extra], {
    cwd: root,
    env: { ...process.env, JOBTRAIL_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.on('data', () => undefined);
  return { child, exited: once(child, 'exit'), err: () => err };
};

const scenario = async (mode: 'embedded' | 'rabbitmq') => {
  const queue = `procs-${mode}-${randomUUID().slice(0, 8)}`;
  const store = `sqlite:${join(dir, `${queue}.db`)}`;
  const broker = mode === 'rabbitmq' ? rabbitUrl : 'memory';
  const env = { JOBTRAIL_STORE: store, JOBTRAIL_BROKER: broker, JOBTRAIL_WORKERS: 'test/fixtures/workers.ts', JOBTRAIL_TEST_QUEUE: queue };
  const runArgs = ['--sweep-interval', '1000', '--heartbeat-interval', '500', ...(mode === 'rabbitmq' ? ['--no-accept-commands'] : [])];
  const sleeper = makeSleeper(queue);
  const engine: Engine = await createEngine({ store, broker, workers: [sleeper], recover: false, acceptCommands: false });
  const runners = [spawnRun(env, runArgs), spawnRun(env, runArgs)];
  const list = async (...flags: string[]): Promise<ProcessSummary[]> => {
    const r = await jobtrail(['processes', '--json', ...flags], env);
    assert.is(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as ProcessSummary[];
  };
  const byPid = (all: readonly ProcessSummary[], pid: number | undefined) => all.find((p) => p.pid === pid);
  let jobId: string | undefined;
  try {
    await waitFor(() => runners.every((r) => /engine started/.test(r.err())), 60_000, 'both processes to start');
    let all = await list();
    for (const r of runners) {
      const p = byPid(all, r.child.pid);
      assert.ok(p, `process ${r.child.pid} listed: ${JSON.stringify(all)}`);
      assert.is(p!.status, 'running');
      assert.equal(p!.queues, [queue]);
      assert.ok(p!.workers?.some((w) => w.name === 'sleeper' && w.queue === queue && w.concurrency >= 1));
      assert.is(p!.version, engineVersion);
      assert.is(p!.host, p!.processId.split(':')[0]);
      assert.ok(Date.now() - Date.parse(p!.startedAt!) < 120_000);
      assert.ok(Date.now() - Date.parse(p!.lastSeenAt!) < 10_000, 'seen lately');
      assert.is(p!.running, 0);
    }

    jobId = (await engine.enqueue(sleeper, { firstAttemptMs: 120_000, ms: 10, value: 'long' })).jobId;
    await waitFor(async () => (await engine.getJob(jobId!))?.status === 'in_progress', 30_000, 'the long job to start', 50);
    const workerPid = Number((await engine.getJob(jobId))!.workerId!.split(':')[1]);
    const victim = runners.find((r) => r.child.pid === workerPid)!;
    const survivor = runners.find((r) => r.child.pid !== workerPid)!;
    assert.ok(victim && survivor, 'the job runs in one of the two');
    await waitFor(async () => byPid(await list(), workerPid)?.running === 1, 10_000, 'the heartbeat to count the running job');

    victim.child.kill('SIGKILL');
    await victim.exited;
    await waitFor(
      async () => {
        all = await list();
        return byPid(all, workerPid)?.recovery === 'recovered';
      },
      30_000,
      'the killed process gone, its attempt recovered',
      250,
    );
    const gone = byPid(all, workerPid)!;
    assert.is(gone.status, 'gone');
    assert.equal(
      gone.recovered.map((r) => [r.jobId, r.attempt]),
      [[jobId, 1]],
    );
    assert.is((await engine.getJob(jobId))?.lastError?.name, 'WorkerLost');
    assert.is(byPid(all, survivor.child.pid)?.status, 'running');
    const table = await jobtrail(['processes'], env);
    assert.match(table.stdout, /gone \(1 attempt recovered\)/);
    assert.match(table.stdout, new RegExp(`${survivor.child.pid}:[0-9a-f]+\\s+running`));

    // The Processes page shows the same.
    const dashboard = await runDashboard({ engine, port: 0 });
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const problems = watchProblems(page);
      await page.goto(dashboard.url);
      await page.locator('nav a[href="/processes"]').click();
      await page.waitForURL(/\/processes$/);
      assert.is(await page.title(), 'Processes · jobtrail');
      const row = (id: string) => page.locator(`[data-process-row="${id}"]`);
      assert.is(await row(gone.processId).getAttribute('data-status'), 'gone');
      assert.match((await row(gone.processId).locator('[data-field="status"]').textContent()) ?? '', 'gone (1 attempt recovered)');
      assert.match((await row(gone.processId).locator('[data-field="recovered"]').textContent()) ?? '', jobId);
      const survivorId = byPid(all, survivor.child.pid)!.processId;
      assert.is(await row(survivorId).getAttribute('data-status'), 'running');
      // Shown in the browser's zone with a relative time; the datetime attribute is the heartbeat's instant.
      const lastSeen = Date.parse((await row(survivorId).locator('[data-field="last-seen"] time').getAttribute('datetime')) ?? '');
      assert.ok(Date.now() - lastSeen < 60_000, `last seen within a minute (${new Date(lastSeen).toISOString()})`);
      const lastSeenText = (await row(survivorId).locator('[data-field="last-seen"]').textContent()) ?? '';
      assert.ok(/( ago|now)$/.test(lastSeenText.trim()), `a relative time: ${JSON.stringify(lastSeenText)}`);
      assert.match((await row(survivorId).locator('[data-field="workers"]').textContent()) ?? '', /sleeper×\d+/);
      if (mode === 'embedded') await saveScreenshot(page, 'processes', 'dashboard-processes.png');
      assert.equal(problems, []);
    } finally {
      await browser.close();
      await dashboard.stop();
    }

    survivor.child.kill('SIGTERM');
    await survivor.exited;
    all = await list();
    assert.is(byPid(all, survivor.child.pid)?.status, 'stopped');
    assert.is(byPid(all, survivor.child.pid)?.running, 0);
    assert.is(byPid(await list('--all'), workerPid)?.status, 'gone', '--all lists them too');
  } finally {
    for (const r of runners) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
    await Promise.all(runners.map((r) => r.exited));
    if (jobId !== undefined) await engine.cancel(jobId, { by: 'test' }).catch(() => undefined);
    await engine.close();
    if (mode === 'rabbitmq') await deleteQueues([`jobtrail.work.${queue}`, `jobtrail.work.${queue}.dead`]);
  }
};

test('embedded: one SQLite file, the in-process broker', () => scenario('embedded'));
test('RabbitMQ', () => scenario('rabbitmq'));

test.run();
