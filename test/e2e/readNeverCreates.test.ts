// Issue 22: the commands that only read (list, show, history, …) never create a
// store. Run in another directory, `jobtrail list` used to print "(no jobs)" and
// leave an empty database behind; now it fails naming the file it looked for.
// Runs src/cli/bin.ts through tsx (dist is built only by `npm test`), in a
// fresh temporary directory, with JOBTRAIL_STORE cleared.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { root } from '../support/cli.js';

const test = suite('commands that read never create a store');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-read-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const jobtrail = (args: readonly string[]): Promise<Ran> =>
  new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, JOBTRAIL_LOG_LEVEL: 'warn' };
    delete env.JOBTRAIL_STORE;
    delete env.JOBTRAIL_BROKER;
    delete env.JOBTRAIL_WORKERS;
    execFile(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), join(root, 'src/cli/bin.ts'), ...args],
      { cwd: dir, env, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });

const defaultFile = join(dir, '.jobtrail', 'events.db');

test('list in a directory without a store: exit 1, names the file it looked for, creates nothing', async () => {
  const r = await jobtrail(['list']);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, `no jobtrail store at ${defaultFile}`);
  assert.match(r.stderr, 'the default');
  assert.is(r.stdout, '', 'no "(no jobs)"');
  assert.equal(readdirSync(dir), [], 'nothing created: no .jobtrail, no database');
});

test('show, history, retry, cancel and a --store path that does not exist: the same, nothing created', async () => {
  for (const args of [
    ['show', 'some-job'],
    ['history', 'some-job'],
    ['retry', 'some-job'],
    ['cancel', 'some-job'],
    ['schedule', 'list'],
  ]) {
    const r = await jobtrail(args);
    assert.is(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, `no jobtrail store at ${defaultFile}`, args.join(' '));
  }
  const r = await jobtrail(['list', '--store', 'sqlite:./elsewhere/jobs.db']);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, `no jobtrail store at ${join(dir, 'elsewhere', 'jobs.db')} (sqlite:./elsewhere/jobs.db, from --store)`);
  assert.equal(readdirSync(dir), [], 'nothing created');
});

test('once enqueue created the store, list finds it and says which store it read', async () => {
  const enqueued = await jobtrail([
    'enqueue',
    'sleeper',
    '{"ms": 1}',
    '--job-id',
    'read-1',
    '--workers',
    join(root, 'test/fixtures/workers.ts'),
  ]);
  assert.is(enqueued.code, 0, enqueued.stderr);
  assert.ok(existsSync(defaultFile), 'enqueue may create the store');
  const r = await jobtrail(['list']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, `store sqlite:${defaultFile}`);
  assert.match(r.stdout, 'read-1');
  const shown = await jobtrail(['show', 'read-1', '--json']);
  assert.is(shown.code, 0, shown.stderr);
  assert.is((JSON.parse(shown.stdout) as { status: string }).status, 'initial');
});

test.run();
