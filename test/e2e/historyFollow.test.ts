import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, defineWorker, type Engine, type JobView, type RecordedJobEvent } from '../../src/index.js';
import { formatHistory } from '../../src/present/index.js';
import { eventTime } from '../../src/job/index.js';
import { runJobtrail, spawnJobtrail } from '../support/cli.js';
import { waitFor } from '../support/waitFor.js';
import { readyTestStore, testStoreUrl } from '../support/testStore.js';

const test = suite('jobtrail history --follow and --at, spawned as a user runs them, on a job with several attempts');

const dir = mkdtempSync(join(tmpdir(), 'jobtrail-history-'));
const store = testStoreUrl(dir);
const jobId = `import-${randomUUID().slice(0, 8)}`;

/** Attempts 1 and 2 fail; attempt 3 reports progress, then waits for the test to let it finish. */
let release: () => void = () => undefined;
const gate = new Promise<void>((resolve) => (release = resolve));
const flaky = defineWorker({
  name: 'flaky-import',
  maxAttempts: 5,
  retryDelay: () => 50,
  action: async (_payload, ctx) => {
    await ctx.progress(10 * ctx.attempt, `attempt ${ctx.attempt} reading`);
    if (ctx.attempt < 3) throw new Error(`partner timed out (attempt ${ctx.attempt})`);
    await gate;
    return { rows: 3 };
  },
});

let engine: Engine;
let history: readonly RecordedJobEvent[] = [];

test.before(async () => {
  await readyTestStore();
  engine = await createEngine({ store, broker: 'memory', workers: [flaky], gracePeriodMs: 1_000 });
  await engine.start();
});

test.after(async () => {
  release();
  await engine?.close({ gracePeriodMs: 0 });
  rmSync(dir, { recursive: true, force: true });
});

/** The revision and type of each event line (stack lines are indented). */
const eventLines = (text: string): Array<[number, string]> =>
  text
    .split('\n')
    .map((l) => /^\s*(\d+)\s+\S+\s+(?:\+\S+\s+)?(?:#\d+\s+)?(Job\w+)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [Number(m[1]), m[2]!]);

test('--follow prints the history, then each new event as it is appended, and exits 0 once the job is final', async () => {
  await engine.enqueue('flaky-import', { file: 'a.csv' }, { jobId });
  await waitFor(async () => (await engine.getJob(jobId))?.progress?.message === 'attempt 3 reading', 15_000, 'attempt 3 to be under way');

  const child = spawnJobtrail(['history', jobId, '--follow', '--store', store]);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = once(child, 'exit');
  try {
    await waitFor(() => stdout.includes('attempt 3 reading'), 30_000, 'the follower to print the history so far');
    assert.is(child.exitCode, null, `still following: the job is not final (${stderr})`);
    assert.not.match(stdout, 'JobCompleted');
    const before = eventLines(stdout).length;

    release();
    let timer: NodeJS.Timeout | undefined;
    const [code] = (await Promise.race([
      exited,
      new Promise(
        (_, reject) => (timer = setTimeout(() => reject(new Error('the follower did not exit within 30 s of the job completing')), 30_000)),
      ),
    ]).finally(() => clearTimeout(timer))) as [number | null];
    assert.is(code, 0, stderr);
    history = await engine.history(jobId);
    assert.is(history[history.length - 1]?.event.type, 'JobCompleted');
    const lines = eventLines(stdout);
    assert.ok(lines.length > before, 'events appended after the follower started were printed');
    assert.equal(
      lines,
      history.map((e) => [e.revision, e.event.type]),
      'every event once, in revision order',
    );
    assert.equal(
      lines.map(([, type]) => type),
      [
        'JobEnqueued',
        'JobStarted',
        'JobProgressed',
        'JobErrored',
        'JobReset',
        'JobStarted',
        'JobProgressed',
        'JobErrored',
        'JobReset',
        'JobStarted',
        'JobProgressed',
        'JobCompleted',
      ],
    );
    assert.is(stdout.trimEnd(), formatHistory(history), 'the same lines as formatHistory, stacks and time deltas included');
    assert.match(stdout, /#2\s+JobErrored\s+Error: partner timed out \(attempt 2\)/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('--follow on a final job prints its history and exits at once; --json prints JSON lines; an unknown job is an error', async () => {
  const [done, asJson, missing, both] = await Promise.all([
    runJobtrail(['history', jobId, '--follow', '--store', store], { timeoutMs: 30_000 }),
    runJobtrail(['history', jobId, '--follow', '--json', '--store', store], { timeoutMs: 30_000 }),
    runJobtrail(['history', 'no-such-job', '--follow', '--store', store], { timeoutMs: 30_000 }),
    runJobtrail(['history', jobId, '--follow', '--at', '2026-01-01T00:00:00Z', '--store', store], { timeoutMs: 30_000 }),
  ]);
  assert.is(done.code, 0, done.stderr);
  assert.is(done.stdout.trimEnd(), formatHistory(history));
  assert.is(asJson.code, 0, asJson.stderr);
  const events = asJson.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { revision: number; type: string; data: unknown });
  assert.equal(
    events.map((e) => [e.revision, e.type]),
    history.map((e) => [e.revision, e.event.type]),
  );
  assert.equal(events[3]?.data, history[3]?.event.data);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, 'job "no-such-job" does not exist');
  assert.is(both.code, 2);
  assert.match(both.stderr, '--follow and --at do not go together');
});

test('--at prints the view as it was then, folded from the events up to that time (--json too)', async () => {
  const at = (i: number) => eventTime(history[i]!.event);
  const firstError = history.findIndex((e) => e.event.type === 'JobErrored');
  const secondStart = history.findIndex((e, i) => e.event.type === 'JobStarted' && i > firstError);
  const enqueuedMs = Date.parse(at(0));
  const withOffset = (iso: string) => {
    // The same instant written in +02:00.
    const d = new Date(Date.parse(iso) + 2 * 3_600_000).toISOString();
    return `${d.slice(0, -1)}+02:00`;
  };
  const [errored, erroredJson, erroredOffset, started, end, before, bad, impossible, noZone] = await Promise.all(
    [
      ['--at', at(firstError)],
      ['--at', at(firstError), '--json'],
      ['--at', withOffset(at(firstError)), '--json'],
      ['--at', at(secondStart), '--json'],
      ['--at', new Date(Date.now() + 3_600_000).toISOString(), '--json'],
      ['--at', new Date(enqueuedMs - 1).toISOString()],
      ['--at', 'yesterday'],
      ['--at', '2026-02-30T10:00:00Z'],
      ['--at', '2026-11-28T10:00:00'],
    ].map((args) => runJobtrail(['history', jobId, ...args, '--store', store], { timeoutMs: 30_000 })),
  );

  assert.is(errored!.code, 0, errored!.stderr);
  assert.match(errored!.stdout, `as of ${at(firstError)}: revision ${history[firstError]!.revision} (JobErrored at ${at(firstError)})`);
  assert.match(errored!.stdout, /status\s+awaiting_retry \(next attempt at /);
  assert.match(errored!.stdout, /attempts\s+1 of 5/);
  assert.match(errored!.stdout, /last error\s+Error: partner timed out \(attempt 1\)/);

  type AtJson = { at: string; revision: number; lastEvent: string; view: JobView };
  const e = JSON.parse(erroredJson!.stdout) as AtJson;
  assert.is(e.revision, history[firstError]!.revision);
  assert.is(e.lastEvent, 'JobErrored');
  assert.is(e.view.status, 'errored');
  assert.is(e.view.attempts, 1);
  assert.ok(e.view.retryAt !== undefined, 'a retry was scheduled then');
  assert.equal(JSON.parse(erroredOffset!.stdout) as AtJson, e, 'a time with an offset names the same instant');

  const s = JSON.parse(started!.stdout) as AtJson;
  assert.is(s.view.status, 'in_progress');
  assert.is(s.view.attempts, 2);
  assert.is(s.view.lastError?.message, 'partner timed out (attempt 1)');

  const now = JSON.parse(end!.stdout) as AtJson;
  assert.equal(now.view, await engine.getJob(jobId), 'after the last event: the current view');
  assert.is(now.revision, history.length - 1);

  assert.is(before!.code, 1);
  assert.match(
    before!.stderr,
    `job "${jobId}" did not exist yet at ${new Date(enqueuedMs - 1).toISOString()}: it was enqueued at ${at(0)}`,
  );
  for (const r of [bad!, impossible!, noZone!]) {
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, '--at takes an ISO-8601 time with a time zone, e.g. 2026-11-28T10:59:19Z');
  }
  assert.match(bad!.stderr, 'got "yesterday"');
});

test.run();
