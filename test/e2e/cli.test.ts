import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runJobtrail, spawnJobtrail } from '../support/cli.js';
import { esdbUrl, readyTestStore, testJobId, testStoreUrl } from '../support/testStore.js';

const test = suite('the jobtrail CLI, spawned as a user runs it');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-cli-'));
const store = testStoreUrl(dir);
const common = ['--store', store, '--workers', 'test/fixtures/workers.ts'];
test.before(readyTestStore);
test.after(() => rmSync(dir, { recursive: true, force: true }));

// The job ids the session fixes: unique per run on a shared EventStoreDB (testJobId), themselves on SQLite.
const cli1 = testJobId('cli-1');
const cli2 = testJobId('cli-2');
const cliFatal = testJobId('cli-fatal');
const cliLater = testJobId('cli-later');
const noSuchJob = testJobId('no-such-job');

const json = <T>(text: string): T => JSON.parse(text) as T;

/** Polls `show --json` until the job's status is final or the time is up. */
const waitForStatus = async (jobId: string, statuses: string[], timeoutMs = 20_000) => {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    const r = await runJobtrail(['show', jobId, '--json', '--store', store]);
    if (r.code === 0) {
      const view = json<{ status: string; retryAt?: string }>(r.stdout);
      last = view.status;
      if (statuses.includes(view.status) && !(view.status === 'errored' && view.retryAt)) return view;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`job ${jobId} did not reach ${statuses.join('/')} in ${timeoutMs} ms (last: ${last})`);
};

test('--help of every command exits 0 and describes it', async () => {
  const top = await runJobtrail(['--help']);
  assert.is(top.code, 0);
  for (const c of ['demo', 'run', 'enqueue', 'show', 'list', 'history', 'retry', 'cancel']) assert.match(top.stdout, c);
  for (const c of ['demo', 'run', 'enqueue', 'show', 'list', 'history', 'retry', 'cancel']) {
    const r = await runJobtrail([c, '--help']);
    assert.is(r.code, 0, `${c} --help: ${r.stderr}`);
    assert.match(r.stdout, `Usage: jobtrail ${c}`);
  }
  const list = await runJobtrail(['list', '--help']);
  assert.match(list.stdout, '--json');
});

test('bad input gets a clear error and a non-zero exit', async () => {
  const badJson = await runJobtrail(['enqueue', 'sleeper', '{not json', ...common]);
  assert.is.not(badJson.code, 0);
  assert.match(badJson.stderr, 'the payload is not valid JSON');
  const unknown = await runJobtrail(['enqueue', 'sleepr', '{}', ...common]);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, 'unknown worker "sleepr"; registered: rejecter, sleeper');
  const invalid = await runJobtrail(['enqueue', 'sleeper', '{"ms":"soon"}', ...common]);
  assert.is(invalid.code, 1);
  assert.match(invalid.stderr, /payload does not match worker "sleeper".*ms/);
  const noWorkers = await runJobtrail(['run', '--store', store]);
  assert.is(noWorkers.code, 2);
  assert.match(noWorkers.stderr, '--workers');
  const missing = await runJobtrail(['show', noSuchJob, '--store', store]);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, `job "${noSuchJob}" does not exist`);
  const badStatus = await runJobtrail(['list', '--status', 'done', '--store', store]);
  assert.is.not(badStatus.code, 0);
  assert.match(badStatus.stderr, 'initial');
});

test('enqueue, run, show, list, history, retry, cancel: a whole session', async () => {
  const first = await runJobtrail(['enqueue', 'sleeper', '{"ms":10,"value":"v1"}', '--job-id', cli1, ...common]);
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stdout, `enqueued: ${cli1}`);
  const again = await runJobtrail(['enqueue', 'sleeper', '{"ms":10}', '--job-id', cli1, '--json', ...common]);
  assert.equal(json(again.stdout), { ok: true, jobId: cli1, created: false });
  await runJobtrail(['enqueue', 'rejecter', '{"reason":"fatal"}', '--job-id', cliFatal, ...common]);
  await runJobtrail([
    'enqueue',
    'sleeper',
    '{}',
    '--job-id',
    cliLater,
    '--run-at',
    new Date(Date.now() + 3_600_000).toISOString(),
    ...common,
  ]);

  const runner = spawnJobtrail(['run', ...common]);
  let runnerErr = '';
  runner.stderr!.on('data', (d) => (runnerErr += d));
  try {
    const done = await waitForStatus(cli1, ['completed']);
    assert.is(done.status, 'completed');
    const fatal = await waitForStatus(cliFatal, ['errored']);
    assert.is(fatal.status, 'errored');

    // Enqueued by another process while `run` runs: the runner picks it up from the store.
    await runJobtrail(['enqueue', 'sleeper', '{"failAttempts":[1]}', '--job-id', cli2, ...common]);
    const second = await waitForStatus(cli2, ['completed']);
    assert.is(second.status, 'completed');

    const show = await runJobtrail(['show', cli1, '--store', store]);
    assert.match(show.stdout, /status\s+completed/);
    assert.match(show.stdout, /result\s+"v1"/);

    const history = await runJobtrail(['history', cli2, '--store', store]);
    assert.is(history.code, 0);
    const lines = history.stdout.trim().split('\n');
    assert.match(lines[0]!, /^\s*0\s+\S+Z\s+JobEnqueued/);
    assert.ok(
      lines.some((l) => /#1\s+JobErrored\s+Error: planned failure of attempt 1/.test(l)),
      history.stdout,
    );
    assert.match(history.stdout, /#2\s+JobCompleted/);
    assert.match(history.stdout, /\+\d/);
    const historyJson = (await runJobtrail(['history', cli2, '--json', '--store', store])).stdout
      .trim()
      .split('\n')
      .map((l) => json<{ type: string; revision: number }>(l));
    assert.equal(
      historyJson.map((e) => e.type),
      ['JobEnqueued', 'JobStarted', 'JobErrored', 'JobReset', 'JobStarted', 'JobCompleted'],
    );
    assert.equal(
      historyJson.map((e) => e.revision),
      [0, 1, 2, 3, 4, 5],
    );

    const listed = (await runJobtrail(['list', '--status', 'completed', '--json', '--store', store])).stdout
      .trim()
      .split('\n')
      .map((l) => json<{ jobId: string }>(l).jobId);
    // Every completed job of the store: on a shared server, others' too, so there only this session's are compared.
    const session = [cli1, cli2, cliFatal, cliLater];
    assert.equal((esdbUrl ? listed.filter((id) => session.includes(id)) : listed).sort(), [cli1, cli2].sort());

    const retried = await runJobtrail(['retry', cliFatal, '--by', 'ada', '--store', store]);
    assert.is(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, `${cliFatal}: initial`);
    const refused = await runJobtrail(['cancel', cli1, '--by', 'ada', '--store', store]);
    assert.is(refused.code, 1);
    assert.match(refused.stderr, `cannot cancel job "${cli1}": it is completed`);
    const cancelled = await runJobtrail(['cancel', cliLater, '--by', 'ada', '--reason', 'not needed', '--store', store]);
    assert.is(cancelled.code, 0, cancelled.stderr);
    const afterRetry = await waitForStatus(cliFatal, ['errored']);
    assert.is((afterRetry as unknown as { attempts: number }).attempts, 2);
    const fatalHistory = await runJobtrail(['history', cliFatal, '--json', '--store', store]);
    const reset = fatalHistory.stdout
      .trim()
      .split('\n')
      .map((l) => json<{ type: string; data: { by?: string } }>(l))
      .find((e) => e.type === 'JobReset');
    assert.is(reset?.data.by, 'ada');
  } finally {
    runner.kill('SIGTERM');
    const [code] = (await once(runner, 'exit')) as [number | null];
    assert.is(code, 0, runnerErr);
  }
});

test.run();
