// `jobtrail enqueue --from` and `jobtrail list`, spawned as a user runs them (issue 23): one job per line with a
// summary naming each rejected line; pages continued with the cursor the last line prints, stable while jobs are
// enqueued in between; and the dashboard's words for errored jobs: awaiting_retry and failed.
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runJobtrail, spawnJobtrail } from '../support/cli.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('jobtrail enqueue --from and list, spawned');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-cli-list-'));
const store = `sqlite:${join(dir, 'events.db')}`;
const sleepers = ['--store', store, '--workers', 'test/fixtures/workers.ts'];
test.after(() => rmSync(dir, { recursive: true, force: true }));

const later = new Date(Date.now() + 3_600_000).toISOString();
const line = (o: unknown): string => JSON.stringify(o);

/** The job ids of a human `list` output (its table rows). */
const idsOf = (stdout: string): string[] =>
  stdout
    .split('\n')
    .filter((l) => /^\S+\s+\S+\s+\S+\s+\d+\s+\S+Z$/.test(l) && !l.startsWith('JOB'))
    .map((l) => l.split(/\s+/)[0]!);

test('enqueue --from: good lines go, each bad one is named with its reason, exit 1', async () => {
  const file = join(dir, 'jobs.jsonl');
  writeFileSync(
    file,
    [
      line({ worker: 'sleeper', payload: { ms: 1 }, jobId: 'from-1', runAt: later }),
      line({ worker: 'sleeper', payload: { ms: 1 }, jobId: 'from-1', runAt: later }),
      '{"worker": "sleeper", payload: oops}',
      '',
      line({ worker: 'nobody', payload: {} }),
      line({ worker: 'sleeper', payload: { ms: 'soon' } }),
      line({ worker: 'sleeper', payloads: {} }),
      line({ worker: 'sleeper', payload: {}, jobId: 'from-2', runAt: later, priority: 3 }),
      line({ worker: 'sleeper', payload: {}, jobId: 'from-3', runAt: 'tomorrow' }),
    ].join('\n') + '\n',
  );
  const r = await runJobtrail(['enqueue', '--from', file, ...sleepers]);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stdout, /^enqueued 2, duplicates 1 .*rejected 5/m);
  assert.match(r.stdout, /line 3: not JSON/);
  assert.match(r.stdout, /line 5: unknown worker "nobody"/);
  assert.match(r.stdout, /line 6: the payload does not match worker "sleeper"/);
  assert.match(r.stdout, /line 7: unknown field "payloads"/);
  assert.match(r.stdout, /line 9: .*runAt/);
  assert.not.match(r.stdout, /line [1248]:/);
  const shown = JSON.parse((await runJobtrail(['show', 'from-2', '--json', '--store', store])).stdout) as { priority: number };
  assert.is(shown.priority, 3);
  assert.is((await runJobtrail(['show', 'from-3', '--store', store])).code, 1, 'a rejected line recorded nothing');

  // From stdin, with --json: a line per job, then the summary; a file with only good lines exits 0.
  const piped = await runJobtrail(['enqueue', '--from', '-', '--json', ...sleepers], {
    input: [1, 2, 3].map((i) => line({ worker: 'sleeper', payload: {}, jobId: `stdin-${i}`, runAt: later })).join('\n'),
  });
  assert.is(piped.code, 0, piped.stderr);
  const out = piped.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(
    out.slice(0, 3).map((o) => [o['line'], o['result'], o['jobId']]),
    [
      [1, 'created', 'stdin-1'],
      [2, 'created', 'stdin-2'],
      [3, 'created', 'stdin-3'],
    ],
  );
  assert.equal(out[3], { summary: { lines: 3, enqueued: 3, duplicates: 0, sent: 0, unanswered: 0, rejected: 0 } });
});

test('enqueue without --workers in embedded mode says what it needs, exit 2', async () => {
  const r = await runJobtrail(['enqueue', 'sleeper', '{}', '--store', store]);
  assert.is(r.code, 2);
  assert.match(r.stderr, '--workers');
  assert.match(r.stderr, 'RabbitMQ');
});

test('list pages with a cursor: --after continues, no job twice or missed while others are enqueued', async () => {
  const all = (await runJobtrail(['list', '--store', store])).stdout;
  const expected = idsOf(all);
  assert.is(expected.length, 5, all);
  const seen: string[] = [];
  let args = ['list', '--store', store, '--limit', '2'];
  for (let page = 0; page < 10; page++) {
    const r = await runJobtrail(args);
    assert.is(r.code, 0, r.stderr);
    seen.push(...idsOf(r.stdout));
    // Jobs enqueued between two pages are newer than every listed one: they do not shift the pages.
    await runJobtrail(['enqueue', 'sleeper', '{}', '--run-at', later, '--job-id', `between-${page}`, ...sleepers]);
    const more = /^more jobs: (jobtrail list .*--after (\S+))$/m.exec(r.stdout);
    if (more === null) break;
    assert.match(more[1]!, '--limit 2');
    args = ['list', '--store', store, '--limit', '2', '--after', more[2]!];
  }
  assert.equal(seen, expected);

  const json = await runJobtrail(['list', '--store', store, '--limit', '3', '--json']);
  const lines = json.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { jobId?: string; next?: string; displayStatus?: string });
  assert.is(lines.length, 4);
  assert.ok(lines.slice(0, 3).every((l) => l.jobId !== undefined && l.displayStatus === 'initial'));
  assert.type(lines[3]!.next, 'string');
  const rest = await runJobtrail(['list', '--store', store, '--limit', '1000', '--json', '--after', lines[3]!.next!]);
  const restIds = rest.stdout
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { jobId: string }).jobId);
  const everyId = idsOf((await runJobtrail(['list', '--store', store, '--limit', '1000'])).stdout);
  assert.equal([...lines.slice(0, 3).map((l) => l.jobId), ...restIds], everyId);

  const bad = await runJobtrail(['list', '--store', store, '--after', 'not-a-cursor']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, 'invalid listJobViews cursor');
});

test('errored jobs read as awaiting_retry and failed in list and show, and --status filters by them', async () => {
  const errorWorkers = ['--store', store, '--workers', 'test/fixtures/errorWorkers.ts'];
  for (const [worker, id] of [
    ['flaky', 'err-flaky'],
    ['doomed', 'err-doomed'],
  ] as const) {
    const r = await runJobtrail(['enqueue', worker, '{}', '--job-id', id, ...errorWorkers]);
    assert.is(r.code, 0, r.stderr);
  }
  const runner = spawnJobtrail(['run', ...errorWorkers]);
  let runnerErr = '';
  runner.stderr!.on('data', (d) => (runnerErr += d));
  try {
    await waitFor(
      async () => {
        const views = await Promise.all(
          ['err-flaky', 'err-doomed'].map(
            async (id) => JSON.parse((await runJobtrail(['show', id, '--json', '--store', store])).stdout) as { status: string },
          ),
        );
        return views.every((v) => v.status === 'errored');
      },
      30_000,
      'both jobs to error',
      250,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; jobtrail run's stderr: ${runnerErr}`);
  } finally {
    runner.kill('SIGTERM');
    await once(runner, 'exit');
  }
  const failed = await runJobtrail(['list', '--status', 'failed', '--store', store]);
  assert.equal(idsOf(failed.stdout), ['err-doomed']);
  assert.match(failed.stdout, /err-doomed\s+doomed\s+failed\s/);
  const retrying = await runJobtrail(['list', '--status', 'awaiting-retry', '--store', store]);
  assert.equal(idsOf(retrying.stdout), ['err-flaky']);
  assert.match(retrying.stdout, /err-flaky\s+flaky\s+awaiting_retry\s/);
  const errored = await runJobtrail(['list', '--status', 'errored', '--store', store]);
  assert.equal(idsOf(errored.stdout).sort(), ['err-doomed', 'err-flaky']);
  assert.not.match((await runJobtrail(['list', '--store', store])).stdout, /\berrored\b/);

  assert.match((await runJobtrail(['show', 'err-doomed', '--store', store])).stdout, /status\s+failed \(no retry left\)/);
  const doomedJson = JSON.parse((await runJobtrail(['show', 'err-doomed', '--json', '--store', store])).stdout) as Record<string, unknown>;
  assert.equal(
    [doomedJson['status'], doomedJson['displayStatus']],
    ['errored', 'failed'],
    'the stored status stays; displayStatus is added',
  );
  assert.match((await runJobtrail(['show', 'err-flaky', '--store', store])).stdout, /status\s+awaiting_retry \(next attempt at \S+Z\)/);
  const history = (await runJobtrail(['history', 'err-doomed', '--store', store])).stdout;
  assert.match(history, /JobErrored\s+NonRetryableError: the account was deleted .*— failed: no retry/);
  assert.match((await runJobtrail(['history', 'err-flaky', '--store', store])).stdout, /— awaiting retry at \S+Z/);

  const bogus = await runJobtrail(['list', '--status', 'done', '--store', store]);
  assert.is(bogus.code, 1, 'a usage error, as commander reports them');
  assert.match(bogus.stderr, 'awaiting_retry, failed, completed, cancelled, errored');

  // The bulk commands take the same words: a cancel of the awaiting-retry jobs leaves the failed one alone.
  const cancelled = await runJobtrail(['cancel', '--status', 'awaiting-retry', '--by', 'ada', '--store', store]);
  assert.is(cancelled.code, 0, cancelled.stderr);
  assert.equal(cancelled.stdout.trim().split('\n'), ['err-flaky: cancelled', 'cancelled 1, refused 0']);
  const purgeBad = await runJobtrail(['purge', '--status', 'awaiting_retry', '--store', store]);
  assert.is(purgeBad.code, 1, 'purge takes only final statuses');
  assert.match(purgeBad.stderr, 'completed, failed, cancelled, errored');
});

test.run();
