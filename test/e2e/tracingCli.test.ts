// The CLI with an application's OpenTelemetry setup loaded by --import
// (docs/tracing.md): `jobtrail enqueue` and `jobtrail run` make one trace,
// `jobtrail history` shows it, and JOBTRAIL_LOG_FILE collects the log lines,
// each carrying the job, the worker, the attempt and the trace id.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runJobtrail, spawnJobtrail } from '../support/cli.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('tracing from the CLI: --import an SDK, JOBTRAIL_LOG_FILE');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-tracing-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const setup = fileURLToPath(new URL('../fixtures/otelSetup.mjs', import.meta.url));
const lines = (file: string): Record<string, unknown>[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];

test('enqueue and run in two processes make one trace, flushed at exit; history shows it; the log file has the attempt lines', async () => {
  const store = `sqlite:${join(dir, 'events.db')}`;
  const spansFile = join(dir, 'spans.jsonl');
  const logFile = join(dir, 'logs', 'run.jsonl');
  const env = { NODE_OPTIONS: `--import ${setup}`, TEST_SPANS_FILE: spansFile };
  const workers = 'test/fixtures/tracedWorkers.ts';
  const enqueued = await runJobtrail(['enqueue', 'traced-flaky', '{}', '--job-id', 'cli-traced', '--store', store, '--workers', workers], {
    env,
  });
  assert.is(enqueued.code, 0, enqueued.stderr);
  const send = lines(spansFile).find((s) => s.name === 'send default');
  assert.ok(send, `the enqueue's span: ${readFileSync(spansFile, 'utf8')}`);
  const traceId = String(send.traceId);

  const run = spawnJobtrail(['run', '--store', store, '--workers', workers], {
    env: { ...env, JOBTRAIL_LOG_FILE: logFile, JOBTRAIL_LOG_LEVEL: 'info' },
  });
  let stderr = '';
  run.stderr!.on('data', (d) => (stderr += d));
  const exited = once(run, 'exit');
  try {
    // The second attempt has started: SIGTERM lets it finish (the grace period), then the process exits.
    await waitFor(() => lines(logFile).filter((l) => l.msg === 'traced-flaky is working').length === 2, 60_000, 'the second attempt');
  } finally {
    run.kill('SIGTERM');
    await exited;
  }
  const attempts = lines(spansFile).filter((s) => s.name === 'process default');
  for (const a of attempts) {
    assert.is(a.traceId, traceId, 'the attempts, in another process, are in the enqueue’s trace');
    assert.is(a.parentSpanId, send.spanId);
    assert.is((a.attributes as Record<string, unknown>)['jobtrail.job.id'], 'cli-traced');
  }
  assert.equal(attempts.map((a) => (a.attributes as Record<string, unknown>)['jobtrail.outcome']).sort(), ['completed', 'errored']);

  const history = await runJobtrail(['history', 'cli-traced', '--store', store]);
  assert.is(history.code, 0, history.stderr);
  assert.match(history.stdout, `trace ${traceId} span ${String(send.spanId)}`);
  const show = await runJobtrail(['show', 'cli-traced', '--store', store]);
  assert.is(show.code, 0, show.stderr);
  assert.match(show.stdout, new RegExp(`^trace +${traceId}$`, 'm'));

  // JOBTRAIL_LOG_FILE: the lines went to the file (its folder made), not to stderr.
  const logged = lines(logFile);
  const fromAction = logged.filter((l) => l.msg === 'traced-flaky is working');
  assert.equal(
    fromAction.map((l) => [l.jobId, l.worker, l.attempt, l.traceId]),
    [
      ['cli-traced', 'traced-flaky', 1, traceId],
      ['cli-traced', 'traced-flaky', 2, traceId],
    ],
  );
  assert.not.match(stderr, 'traced-flaky is working');
});

test('a JOBTRAIL_LOG_FILE that cannot be opened is a clear error, exit 2', async () => {
  // A file where the log file's folder should be: nothing can be created under it.
  const blocker = join(dir, 'a-file');
  writeFileSync(blocker, 'not a folder');
  const r = await runJobtrail(['list', '--store', `sqlite:${join(dir, 'events.db')}`], {
    env: { JOBTRAIL_LOG_FILE: join(blocker, 'run.log') },
  });
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, 'cannot open the log file');
  assert.match(r.stderr, 'JOBTRAIL_LOG_FILE');
  assert.not.match(r.stderr, '    at ');
});

test.run();
