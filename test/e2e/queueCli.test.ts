// `jobtrail queue pause|resume|list` as a user runs them (docs/queues.md): from the sources through tsx, in a fresh
// directory. They never create a store; bad input is a usage error; the outcome says whether anything was recorded.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { root } from '../support/cli.js';

const test = suite('jobtrail queue');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-queue-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const jobtrail = (
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const base: NodeJS.ProcessEnv = { ...process.env, JOBTRAIL_LOG_LEVEL: 'warn', USER: 'tester' };
    delete base.JOBTRAIL_STORE;
    delete base.JOBTRAIL_BROKER;
    delete base.JOBTRAIL_WORKERS;
    execFile(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), join(root, 'src/cli/bin.ts'), ...args],
      { cwd: dir, env: { ...base, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });

test('queue list, pause and resume without a store: exit 1 naming the file looked for, nothing created', async () => {
  for (const args of [
    ['queue', 'list'],
    ['queue', 'pause', 'imports'],
    ['queue', 'resume', 'imports'],
  ]) {
    const r = await jobtrail(args);
    assert.is(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, `no jobtrail store at ${join(dir, '.jobtrail', 'events.db')}`, args.join(' '));
  }
  assert.equal(readdirSync(dir), [], 'nothing created');
});

test('pause, pause again, list, resume: who and why recorded; a second pause records nothing and says so', async () => {
  const store = `sqlite:${join(dir, 'events.db')}`;
  const enqueued = await jobtrail(['enqueue', 'sleeper', '{}', '--store', store, '--workers', join(root, 'test/fixtures/workers.ts')]);
  assert.is(enqueued.code, 0, enqueued.stderr);
  const paused = await jobtrail(['queue', 'pause', 'default', '--store', store, '--reason', 'migrating the database']);
  assert.is(paused.code, 0, paused.stderr);
  assert.match(paused.stdout, /^default: paused by tester at \S+Z \(migrating the database\)\n$/);
  const again = await jobtrail(['queue', 'pause', 'default', '--store', store, '--by', 'bob']);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, /^default: already paused \(paused by tester at .*\); nothing recorded\n$/);
  const listed = await jobtrail(['queue', 'list', '--store', store]);
  assert.is(listed.code, 0, listed.stderr);
  assert.match(
    listed.stdout,
    /^QUEUE\tSTATE\tDEPTH\tCONSUMERS\tWORKERS HERE\ndefault\tpaused by tester since \S+ \(migrating the database\)\t\?\t0\t—\n$/,
  );
  const resumed = await jobtrail(['queue', 'resume', 'default', '--store', store, '--json']);
  assert.is(resumed.code, 0, resumed.stderr);
  assert.equal(JSON.parse(resumed.stdout).changed, true);
  const listedJson = await jobtrail(['queue', 'list', '--store', store, '--json']);
  // The job waits in `default` and no process runs: nothing consumes it.
  assert.equal(
    (JSON.parse(listedJson.stdout) as { name: string; paused: boolean; noConsumer: boolean }[]).map((q) => [
      q.name,
      q.paused,
      q.noConsumer,
    ]),
    [['default', false, true]],
  );
});

test('a name that is not a queue’s is a usage error (exit 2), nothing recorded', async () => {
  const store = `sqlite:${join(dir, 'events.db')}`;
  const r = await jobtrail(['queue', 'pause', 'not a queue', '--store', store]);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, 'jobtrail: invalid queue name "not a queue": use 1–100 characters of [A-Za-z0-9._-]');
});

test.run();
