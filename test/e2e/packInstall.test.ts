// The package as a user installs it: `npm pack`, the tarball installed into a
// new app, and from there the CLI (through npx), the README's quick start (as
// .mjs and as type-checked .ts), CommonJS, `jobtrail/testing`, and a worker
// made with a second copy of the library. Nothing here imports src/.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { root } from '../support/cli.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('the packed package installed in a new app');
const exec = promisify(execFile);

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
const dir = join(tmpdir(), `jobtrail-install-${randomUUID()}`);
const app = join(dir, 'app');
const env = {
  ...process.env,
  JOBTRAIL_LOG_LEVEL: 'warn',
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
};
/** What the npm that runs this test runs (npm sets npm_execpath for its scripts); else the npm on PATH. */
const npm = (args: readonly string[], cwd: string, timeoutMs = 300_000) =>
  process.env.npm_execpath
    ? exec(process.execPath, [process.env.npm_execpath, ...args], { cwd, env, timeout: timeoutMs, maxBuffer: 64 << 20 })
    : exec('npm', args, { cwd, env, timeout: timeoutMs, maxBuffer: 64 << 20 });
const npx = (args: readonly string[], timeoutMs = 60_000) => npm(['exec', '--', ...args], app, timeoutMs);
const run = (file: string, args: readonly string[] = []) => exec(process.execPath, [...args, file], { cwd: app, env, timeout: 60_000 });

/** What failed, with the output of the command, for the assertion message. */
const failure = (error: unknown): string => {
  const e = error as { message?: string; stdout?: string; stderr?: string };
  return `${e.message ?? String(error)}\nstdout: ${e.stdout ?? ''}\nstderr: ${e.stderr ?? ''}`;
};

test.before(async () => {
  mkdirSync(app, { recursive: true });
  const { stdout } = await npm(['pack', '--pack-destination', dir, '--json'], root);
  const tarball = join(dir, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }, null, 2));
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
      },
    }),
  );
  // What the README tells a user to install; the dev tools at this repository's versions (in npm's cache).
  const dev = ['typescript', 'tsx', '@types/node'].map((name) => `${name}@${pkg.devDependencies[name]}`);
  await npm(
    [
      'install',
      '--prefer-offline',
      tarball,
      `io-ts@${JSON.parse(readFileSync(join(root, 'node_modules/io-ts/package.json'), 'utf8')).version}`,
    ],
    app,
    600_000,
  );
  await npm(['install', '--prefer-offline', '--save-dev', ...dev], app, 300_000);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('npx jobtrail --version prints the package version', async () => {
  const { stdout } = await npx(['jobtrail', '--version']);
  assert.is(stdout.trim(), pkg.version);
});

test('the quick start of the README runs as .mjs with node, and as .ts type-checked by tsc against the published types', async () => {
  const quickstart = readFileSync(join(root, 'examples/quickstart.ts'), 'utf8');
  writeFileSync(join(app, 'quickstart.mjs'), quickstart);
  writeFileSync(join(app, 'quickstart.ts'), quickstart);
  // The payload is typed from the worker's codec, and the result from its action.
  writeFileSync(
    join(app, 'typed.ts'),
    `import * as t from 'io-ts';
import { createEngine, defineWorker, isJobtrailError, ErrorCodes } from 'jobtrail';
const sendEmail = defineWorker({ name: 'send-email', payload: t.type({ to: t.string }), action: async ({ to }) => ({ sentTo: to }) });
const engine = await createEngine({ store: 'sqlite::memory:', workers: [sendEmail] });
// @ts-expect-error: "to" must be a string
await engine.enqueue(sendEmail, { to: 42 }).catch((e: unknown) => { if (!isJobtrailError(e, ErrorCodes.EnqueueRejected)) throw e; });
// @ts-expect-error: the payload has no "subject"
await engine.enqueue(sendEmail, { subject: 'hi' }).catch(() => undefined);
const { jobId } = await engine.enqueue(sendEmail, { to: 'a@b.c' });
const view = await engine.getJob(jobId);
const sentTo: string | undefined = view?.result?.sentTo;
// @ts-expect-error: the result has no "sent"
view?.result?.sent;
await engine.enqueue('send-email', { anything: 'goes by name' }).catch(() => undefined);
await engine.close();
export { sentTo };
`,
  );
  try {
    await npx(['tsc', '-p', '.'], 120_000);
  } catch (error) {
    assert.unreachable(`tsc refused the app:\n${failure(error)}`);
  }
  const expected = 'completed true JobEnqueued → JobStarted → JobProgressed → JobCompleted';
  assert.is((await run('quickstart.mjs')).stdout.trim(), expected);
  assert.is((await run('quickstart.ts', ['--import', 'tsx'])).stdout.trim(), expected);
});

test('CommonJS gets the library with import(), and with require() where Node allows it', async () => {
  writeFileSync(
    join(app, 'cjs.cjs'),
    `import('jobtrail').then((m) => console.log('import', typeof m.createEngine, typeof m.defineWorker));
try { const m = require('jobtrail'); console.log('require', typeof m.createEngine); }
catch (e) { console.log('require refused:', e.code); }
`,
  );
  const { stdout } = await run('cjs.cjs');
  assert.match(stdout, 'import function function');
  // Node 20.19+ loads ES modules with require(); older ones refuse with ERR_REQUIRE_ESM, a clear error.
  assert.ok(/require function|require refused: ERR_REQUIRE_ESM/.test(stdout), stdout);
});

test("jobtrail/testing runs a worker's action with a real context, no store or broker", async () => {
  writeFileSync(
    join(app, 'unit.mjs'),
    `import { defineWorker, NonRetryableError } from 'jobtrail';
import { runAction } from 'jobtrail/testing';
const resize = defineWorker({ name: 'resize', action: async (p, ctx) => {
  await ctx.progress(40, 'half way');
  if (p.width < 1) throw new NonRetryableError('width must be positive');
  return { width: p.width, attempt: ctx.attempt, aborted: ctx.signal.aborted };
} });
const ok = await runAction(resize, { width: 10 }, { attempt: 3 });
const bad = await runAction(resize, { width: 0 });
console.log(JSON.stringify({ ok: [ok.status, ok.result, ok.progress.map((p) => p.message)], bad: [bad.status, bad.error.name, bad.retryAt] }));
`,
  );
  const { stdout } = await run('unit.mjs');
  assert.equal(JSON.parse(stdout), {
    ok: ['completed', { width: 10, attempt: 3, aborted: false }, ['half way']],
    bad: ['errored', 'NonRetryableError', null],
  });
});

test('jobtrail/producer: typed by the workers as types only, and it loads no native module', async () => {
  writeFileSync(
    join(app, 'producer-workers.ts'),
    `import * as t from 'io-ts';
import { defineWorker } from 'jobtrail';
export const greet = defineWorker({ name: 'greet', payload: t.type({ name: t.string }), action: async ({ name }) => \`hello \${name}\` });
`,
  );
  writeFileSync(
    join(app, 'producer.ts'),
    `import { createRequire } from 'node:module';
import { createProducer } from 'jobtrail/producer';
import type * as workers from './producer-workers.js';
const producer = await createProducer<typeof workers>({ broker: 'memory' });
const { jobId } = await producer.enqueue('greet', { name: 'ada' }, { jobId: 'from-producer' });
// @ts-expect-error: greet's name is a string
await producer.enqueue('greet', { name: 42 }).catch(() => undefined);
// @ts-expect-error: no worker is named "gret"
await producer.enqueue('gret', { name: 'ada' }).catch(() => undefined);
await producer.close();
const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => /node_modules[/](better-sqlite3|@eventstore)[/]/.test(f));
console.log(JSON.stringify({ jobId, loaded }));
`,
  );
  try {
    await npx(['tsc', '-p', '.'], 120_000);
  } catch (error) {
    assert.unreachable(`tsc refused the producer app:\n${failure(error)}`);
  }
  const { stdout } = await run('producer.ts', ['--import', 'tsx']);
  assert.equal(JSON.parse(stdout.trim().split('\n').pop()!), { jobId: 'from-producer', loaded: [] });
});

/** `npx jobtrail run`, in a process group of its own: a terminal's Ctrl-C reaches npm and node alike. */
const startRun = (workers: string, store: string): { child: ChildProcess; stderr: () => string } => {
  const args = ['run', '--workers', workers, '--store', store];
  const child = process.env.npm_execpath
    ? spawn(process.execPath, [process.env.npm_execpath, 'exec', '--', 'jobtrail', ...args], {
        cwd: app,
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn('npx', ['jobtrail', ...args], { cwd: app, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stdout!.resume();
  child.stderr!.on('data', (d) => (stderr += d));
  return { child, stderr: () => stderr };
};

const groupGone = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0);
    return false;
  } catch {
    return true;
  }
};

/** Ctrl-C, as a terminal sends it; then every process of the group (npm's and jobtrail's node) must be gone. */
const stopRun = async ({ child, stderr }: ReturnType<typeof startRun>): Promise<void> => {
  process.kill(-child.pid!, 'SIGINT');
  await waitFor(() => groupGone(child.pid!), 30_000, 'every process of npx jobtrail run to exit');
  assert.match(stderr(), 'jobtrail run: SIGINT: stopping', stderr());
};

const show = async (jobId: string, store: string) =>
  JSON.parse((await npx(['jobtrail', 'show', jobId, '--json', '--store', store])).stdout) as {
    status: string;
    attempts: number;
    result?: unknown;
    lastError?: { name: string };
  };

for (const [title, file, source] of [
  ['a plain ESM workers module', 'workers.mjs', "'jobtrail'"],
  ['workers made with a second copy of the library', 'workers-copy.mjs', "'./copy/dist/index.js'"],
] as const) {
  test(`npx jobtrail run and enqueue, with ${title}: jobs complete, a NonRetryableError fails at once`, async () => {
    if (source.includes('copy')) cpSync(join(app, 'node_modules/jobtrail'), join(app, 'copy'), { recursive: true });
    writeFileSync(
      join(app, file),
      `import { defineWorker, NonRetryableError, Worker } from ${source};
export const hello = defineWorker({ name: 'hello', action: async (p, ctx) => { await ctx.progress(50); return { hello: p.name }; } });
export const picky = defineWorker({ name: 'picky', maxAttempts: 5, action: async () => { throw new NonRetryableError('never'); } });
export class Shout extends Worker { name = 'shout'; async action(p) { return p.text.toUpperCase(); } }
`,
    );
    const store = `sqlite:./${file}.db`;
    await npx(['jobtrail', 'enqueue', 'hello', '{"name":"ada"}', '--workers', `./${file}`, '--job-id', 'h1', '--store', store]);
    await npx(['jobtrail', 'enqueue', 'picky', '{}', '--workers', `./${file}`, '--job-id', 'p1', '--store', store]);
    await npx(['jobtrail', 'enqueue', 'shout', '{"text":"hi"}', '--workers', `./${file}`, '--job-id', 's1', '--store', store]);
    const worker = startRun(`./${file}`, store);
    try {
      await waitFor(
        async () => (await show('h1', store)).status === 'completed' && (await show('s1', store)).status === 'completed',
        30_000,
        'hello and shout to complete',
        250,
      );
      await waitFor(async () => (await show('p1', store)).status === 'errored', 30_000, 'picky to fail', 250);
    } finally {
      await stopRun(worker);
    }
    assert.equal((await show('h1', store)).result, { hello: 'ada' });
    assert.equal((await show('s1', store)).result, 'HI');
    const picky = await show('p1', store);
    assert.is(picky.attempts, 1, 'a NonRetryableError of either copy is not retried');
    assert.is(picky.lastError?.name, 'NonRetryableError');
  });
}

test('a missing native module of better-sqlite3 is reported with its remedy, in one line', async () => {
  const build = join(app, 'node_modules/better-sqlite3/build');
  renameSync(build, `${build}.away`);
  try {
    // On a store that exists (the earlier test made it): `list` never creates one, and fails naming a missing one first.
    await npx(['jobtrail', 'list', '--store', 'sqlite:./workers.mjs.db']);
    assert.unreachable('jobtrail list should fail without the native module');
  } catch (error) {
    const e = error as { code?: number; stderr?: string };
    assert.ok(e.stderr?.includes('npm install-scripts approve better-sqlite3 && npm rebuild better-sqlite3'), failure(error));
    assert.not.match(e.stderr ?? '', /\n\s+at /, 'no stack trace');
  } finally {
    renameSync(`${build}.away`, build);
  }
});

test.run();
