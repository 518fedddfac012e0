// Prometheus metrics as users run them (docs/metrics.md): `jobtrail run --metrics-port` and the dashboard's /metrics,
// scraped over HTTP while and after jobs run; bad --metrics-port values.
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, type Engine } from '../../src/index.js';
import { Rejecter, sleeper } from '../fixtures/workers.js';
import { runJobtrail, spawnJobtrail } from '../support/cli.js';
import { sampleSum, sampleValue, scrape, type Sample } from '../support/promText.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('metrics: jobtrail run --metrics-port and the dashboard /metrics');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-metrics-'));
let n = 0;
const engines: Engine[] = [];
const children: ReturnType<typeof spawnJobtrail>[] = [];
test.after.each(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      await once(c, 'exit');
    }
  }
  await Promise.all(engines.splice(0).map((e) => e.close({ gracePeriodMs: 0 })));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

const freshStore = () => `sqlite:${join(dir, `events-${++n}.db`)}`;

/** Starts `jobtrail …` and resolves with the first URL it prints on `stream` matching `pattern`. */
const startFor = async (args: string[], stream: 'stdout' | 'stderr', pattern: RegExp): Promise<string> => {
  const child = spawnJobtrail(args);
  children.push(child);
  let text = '';
  child[stream]!.on('data', (d) => (text += d));
  let other = '';
  child[stream === 'stdout' ? 'stderr' : 'stdout']!.on('data', (d) => (other += d));
  await waitFor(() => pattern.test(text) || child.exitCode !== null, 60_000, `jobtrail ${args[0]} to print its URL`);
  const m = pattern.exec(text);
  if (m === null) throw new Error(`jobtrail ${args[0]} exited ${child.exitCode}: ${text} ${other}`);
  return m[1]!;
};

test('run --metrics-port: counters, histograms and the in-progress gauge move by what the process did', async () => {
  const store = freshStore();
  const url = await startFor(
    ['run', '--store', store, '--workers', 'test/fixtures/workers.ts', '--metrics-port', '0'],
    'stderr',
    /metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/,
  );
  // This engine only enqueues and reads: the run process does the work.
  const engine = await createEngine({ store, workers: [sleeper, new Rejecter()] });
  engines.push(engine);
  const wq = (worker: string) => ({ worker, queue: 'default' });
  const before = await scrape(url);
  assert.is(sampleValue(before, 'jobtrail_jobs_started_total', wq('sleeper')), undefined, 'nothing ran yet');
  assert.ok(sampleValue(before, 'jobtrail_process_start_time_seconds')! > Date.now() / 1000 - 120, 'process metrics, prefixed');

  const slow = await engine.enqueue('sleeper', { ms: 2_500 });
  let during: Sample[] = [];
  await waitFor(
    async () => sampleValue((during = await scrape(url)), 'jobtrail_jobs_in_progress', wq('sleeper')) === 1,
    30_000,
    'the slow job in progress',
  );
  assert.is(sampleValue(during, 'jobtrail_jobs_started_total', wq('sleeper')), 1);
  assert.is(sampleValue(during, 'jobtrail_jobs_completed_total', wq('sleeper')), undefined);

  const ids = [slow.jobId];
  for (let i = 0; i < 3; i++) ids.push((await engine.enqueue('sleeper', { ms: 1 })).jobId);
  ids.push((await engine.enqueue('rejecter', { reason: 'boom' })).jobId); // 2 attempts: errored, then failed for good
  ids.push((await engine.enqueue('rejecter', { reason: 'fatal' })).jobId); // NonRetryableError: failed at once
  await engine.waitForFinal(ids, { timeoutMs: 30_000 });
  let s: Sample[] = [];
  await waitFor(
    async () => sampleValue((s = await scrape(url)), 'jobtrail_jobs_completed_total', wq('sleeper')) === 4,
    10_000,
    'four completions',
  );
  assert.is(sampleValue(s, 'jobtrail_jobs_started_total', wq('sleeper')), 4);
  assert.is(sampleValue(s, 'jobtrail_jobs_in_progress', wq('sleeper')), 0);
  assert.is(sampleValue(s, 'jobtrail_jobs_started_total', wq('rejecter')), 3);
  assert.is(sampleValue(s, 'jobtrail_jobs_errored_total', wq('rejecter')), 3, 'every errored attempt');
  assert.is(sampleValue(s, 'jobtrail_jobs_failed_total', wq('rejecter')), 2, 'those not retried');
  assert.is(sampleValue(s, 'jobtrail_jobs_completed_total', wq('rejecter')), undefined);
  assert.is(sampleValue(s, 'jobtrail_attempt_duration_seconds_count', { ...wq('sleeper'), outcome: 'completed' }), 4);
  assert.ok(sampleValue(s, 'jobtrail_attempt_duration_seconds_sum', { ...wq('sleeper'), outcome: 'completed' })! >= 2.5, 'the slow one');
  assert.is(sampleValue(s, 'jobtrail_attempt_duration_seconds_count', { ...wq('rejecter'), outcome: 'errored' }), 1);
  assert.is(sampleValue(s, 'jobtrail_attempt_duration_seconds_count', { ...wq('rejecter'), outcome: 'failed' }), 2);
  assert.is(
    sampleValue(s, 'jobtrail_attempt_duration_seconds_bucket', { ...wq('rejecter'), outcome: 'failed', le: '+Inf' }),
    2,
    'the +Inf bucket is the count',
  );
  assert.is(sampleValue(s, 'jobtrail_enqueue_to_start_seconds_count', wq('sleeper')), 4, 'first attempts only');
  assert.is(sampleValue(s, 'jobtrail_enqueue_to_start_seconds_count', wq('rejecter')), 2);
  // Run's own appends: 7 JobStarted, 7 ends, 1 JobReset of the retry.
  assert.ok(sampleSum(s, 'jobtrail_store_append_duration_seconds_count') >= 15);
  assert.is(sampleValue(s, 'jobtrail_queue_consumers', { queue: 'default' }), 1, 'this process, by its heartbeat');
  assert.is(sampleValue(s, 'jobtrail_queue_messages', { queue: 'default' }), 0);
  assert.type(sampleValue(s, 'jobtrail_projection_lag_seconds', { projection: 'job-view' }), 'number');
  assert.is(sampleValue(s, 'jobtrail_jobs', { status: 'completed' }), undefined, 'store-wide counts are the dashboard’s');
});

test('run: an attempt of a killed process is counted as lost by the process that records WorkerLost', async () => {
  const store = freshStore();
  const engine = await createEngine({ store, workers: [sleeper] });
  engines.push(engine);
  const killed = spawnJobtrail(['run', '--store', store, '--workers', 'test/fixtures/workers.ts']);
  children.push(killed);
  const { jobId } = await engine.enqueue('sleeper', { firstAttemptMs: 60_000, ms: 1 });
  await waitFor(async () => (await engine.getJob(jobId))?.status === 'in_progress', 60_000, 'the first attempt to start');
  killed.kill('SIGKILL');
  await once(killed, 'exit');
  const url = await startFor(
    ['run', '--store', store, '--workers', 'test/fixtures/workers.ts', '--metrics-port', '0'],
    'stderr',
    /metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/,
  );
  const [view] = await engine.waitForFinal([jobId], { timeoutMs: 30_000 });
  assert.is(view!.status, 'completed');
  let s: Sample[] = [];
  const wq = { worker: 'sleeper', queue: 'default' };
  await waitFor(async () => sampleValue((s = await scrape(url)), 'jobtrail_jobs_completed_total', wq) === 1, 10_000, 'the completion');
  assert.is(sampleValue(s, 'jobtrail_attempts_lost_total', wq), 1, 'recorded as WorkerLost at start-up here');
  assert.is(sampleValue(s, 'jobtrail_jobs_started_total', wq), 1, 'only the retry started here');
  assert.is(sampleValue(s, 'jobtrail_jobs_errored_total', wq), undefined, 'the lost attempt did not run here');
});

test('run: a bad --metrics-port is a usage error in one line, before anything is opened', async () => {
  const store = join(dir, `never-${++n}.db`);
  const args = (...more: string[]) => ['run', '--store', `sqlite:${store}`, '--workers', 'test/fixtures/workers.ts', ...more];
  const invalid = await runJobtrail(args('--metrics-port', '70000'));
  assert.is.not(invalid.code, 0);
  assert.match(invalid.stderr, /--metrics-port must be a whole number from 0 to 65535/);
  assert.match(invalid.stderr.split('\n')[0]!, /--metrics-port must be/, 'said on the first line (commander adds its --help hint)');

  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  try {
    const port = (taken.address() as { port: number }).port;
    const inUse = await runJobtrail(args('--metrics-port', String(port)));
    assert.is(inUse.code, 2, inUse.stderr);
    assert.is(
      inUse.stderr.trim(),
      `jobtrail: the metrics port ${port} on 127.0.0.1 is in use; pick another with --metrics-port (0 picks a free one)`,
    );
  } finally {
    taken.close();
  }
  const elsewhere = await runJobtrail(args('--metrics-port', '0', '--metrics-host', '192.0.2.1'));
  assert.is(elsewhere.code, 2, elsewhere.stderr);
  assert.match(elsewhere.stderr, /^jobtrail: cannot serve the metrics on 192\.0\.2\.1: EADDRNOTAVAIL; use an address of this machine/);
  const hostAlone = await runJobtrail(args('--metrics-host', '127.0.0.1'));
  assert.is(hostAlone.code, 2);
  assert.is(hostAlone.stderr.trim(), 'jobtrail: --metrics-host needs --metrics-port <n>');
  assert.not.ok(existsSync(store), 'the store was never opened');
});

test('dashboard /metrics: behind the token, store-wide job counts, and what the dashboard did (a cancel)', async () => {
  const store = freshStore();
  const engine = await createEngine({ store, workers: [sleeper] });
  engines.push(engine);
  await engine.start();
  const done = [(await engine.enqueue('sleeper', {})).jobId, (await engine.enqueue('sleeper', {})).jobId];
  await engine.waitForFinal(done, { timeoutMs: 20_000 });
  const waiting = await engine.enqueue('sleeper', {}, { runAt: new Date(Date.now() + 3_600_000).toISOString() });
  const token = 'metrics-test-token-0123456789';
  const base = await startFor(
    ['dashboard', '--store', store, '--port', '0', '--token', token],
    'stdout',
    /jobtrail dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/,
  );
  const url = `${base}metrics`;
  const anonymous = await fetch(url);
  assert.is(anonymous.status, 401, 'the dashboard’s token guards /metrics too');
  await anonymous.text();
  const bearer = { authorization: `Bearer ${token}` };
  // A queue with a waiting job is listed, with its consumers (the test engine, by its heartbeat).
  const first = await scrape(url, bearer);
  assert.is(sampleValue(first, 'jobtrail_queue_consumers', { queue: 'default' }), 1);
  assert.is(sampleValue(first, 'jobtrail_queue_paused', { queue: 'default' }), 0);
  const cancel = await fetch(`${base}api/jobs/${waiting.jobId}/cancel`, {
    method: 'POST',
    headers: { ...bearer, 'content-type': 'application/json' },
    body: JSON.stringify({ by: 'metrics test' }),
  });
  assert.is(cancel.status, 200, await cancel.text());
  let s: Sample[] = [];
  await waitFor(
    async () => sampleValue((s = await scrape(url, bearer)), 'jobtrail_jobs', { status: 'cancelled' }) === 1,
    20_000,
    'the cancel in the job counts',
  );
  assert.is(sampleValue(s, 'jobtrail_jobs', { status: 'completed' }), 2);
  assert.is(sampleValue(s, 'jobtrail_jobs', { status: 'initial' }), 0);
  assert.is(sampleValue(s, 'jobtrail_jobs_cancelled_total', { worker: 'sleeper', queue: 'default' }), 1, 'this process cancelled it');
  assert.is(sampleValue(s, 'jobtrail_jobs_started_total', { worker: 'sleeper', queue: 'default' }), undefined, 'it runs nothing');
  assert.type(sampleValue(s, 'jobtrail_projection_lag_seconds', { projection: 'job-dashboard' }), 'number');
  assert.type(sampleValue(s, 'jobtrail_process_start_time_seconds'), 'number');
});

test.run();
