// The CLI and continuations, spawned as a user runs it: `enqueue --after`,
// `show` printing parents and children, `list --status awaiting`, and a
// `jobtrail run` releasing the continuation once its parent completed.
// Runs src/cli/bin.ts through tsx, so it needs no build.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { root, type Ran } from '../support/cli.js';

const test = suite('the jobtrail CLI and continuations');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-cli-continuations-'));
const store = `sqlite:${join(dir, 'events.db')}`;
const common = ['--store', store, '--workers', 'test/fixtures/workers.ts'];
test.after(() => rmSync(dir, { recursive: true, force: true }));

const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const spawnCli = (args: readonly string[]): ChildProcess =>
  spawn(process.execPath, [tsxCli, 'src/cli/bin.ts', ...args], {
    cwd: root,
    env: { ...process.env, JOBTRAIL_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
const cli = (args: readonly string[]): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const child = spawnCli(args);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });

test('enqueue --after records an awaiting job; show prints parents and children; list --status awaiting lists it', async () => {
  const parent = await cli(['enqueue', 'sleeper', '{"ms":1}', '--job-id', 'cli-parent', '--json', ...common]);
  assert.is(parent.code, 0, parent.stderr);
  const child = await cli(['enqueue', 'sleeper', '{}', '--job-id', 'cli-child', '--after', 'cli-parent', '--json', ...common]);
  assert.is(child.code, 0, child.stderr);
  assert.equal(JSON.parse(child.stdout), { ok: true, jobId: 'cli-child', created: true });

  const shownChild = await cli(['show', 'cli-child', '--store', store]);
  assert.match(shownChild.stdout, /status\s+awaiting/);
  assert.match(shownChild.stdout, /after\s+cli-parent \(on completed\)/);
  const shownParent = await cli(['show', 'cli-parent', '--store', store]);
  assert.match(shownParent.stdout, /children\s+cli-child/);

  const listed = await cli(['list', '--status', 'awaiting', '--store', store]);
  assert.is(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /cli-child\s+sleeper\s+awaiting/);
  assert.not.match(listed.stdout, /cli-parent/);

  const orphan = await cli(['enqueue', 'sleeper', '{}', '--job-id', 'cli-orphan', '--after', 'no-such-parent', ...common]);
  assert.is.not(orphan.code, 0);
  assert.match(orphan.stderr, /parent "no-such-parent" does not exist/);
});

test('jobtrail run releases the continuation once its parent completed; the history shows the release', async () => {
  const run = spawnCli(['run', ...common]);
  try {
    const until = Date.now() + 30_000;
    let last = '';
    while (Date.now() < until) {
      const r = await cli(['show', 'cli-child', '--json', '--store', store]);
      last = (JSON.parse(r.stdout) as { status: string }).status;
      if (last === 'completed') break;
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.is(last, 'completed');
    const history = await cli(['history', 'cli-child', '--store', store]);
    assert.match(history.stdout, /JobReleased\s+released: cli-parent completed/);
    const shown = await cli(['show', 'cli-child', '--store', store]);
    assert.match(shown.stdout, /released\s+\S+ \(cli-parent completed\)/);
  } finally {
    run.kill('SIGTERM');
    await new Promise((r) => run.once('exit', r));
  }
});

test.run();
