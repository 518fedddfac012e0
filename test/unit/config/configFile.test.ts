// Issue 22: the project config file (jobtrail.config.json, .ts, .mjs, .js): checked by its io-ts codec (one-line
// errors naming the file and the key), found from the working directory up, its relative paths resolved against its
// own directory, and below flags and the environment in precedence.
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeContext, type Io } from '../../../src/cli/context.js';
import { runCli } from '../../../src/cli/main.js';
import { findConfigFile, loadProjectConfig } from '../../../src/cli/projectConfig.js';
import { checkConfigFile, ConfigError, readEnvConfig } from '../../../src/config/index.js';

const test = suite('project config file');
// realpath: macOS's /tmp is a link, and the loader reports resolved paths.
const root = realpathSync(mkdtempSync(join(tmpdir(), 'jobtrail-config-')));
test.after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A new directory under the test's root, with these files (name → content). */
const project = (files: Record<string, string> = {}): string => {
  const dir = join(root, `p${++n}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
};

const thrown = (f: () => unknown): Error => {
  try {
    f();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected it to throw');
};
const rejected = async (p: Promise<unknown>): Promise<Error> => {
  try {
    await p;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected it to reject');
};

test('the codec takes the known keys and refuses an unknown one, naming the file, the key and the nearest known one', () => {
  const ok = checkConfigFile('/p/jobtrail.config.json', {
    $schema: 'x',
    store: 'sqlite:./a.db',
    broker: 'amqp://guest:guest@localhost:5672',
    workers: './dist/workers.js',
    logLevel: 'debug',
    gracePeriodMs: 5000,
    sweepIntervalMs: 0,
    sweepGraceMs: 1000,
    heartbeatIntervalMs: 2000,
  });
  assert.is(ok.broker, 'amqp://guest:guest@localhost:5672');
  assert.is(ok.sweepIntervalMs, 0);
  assert.not.ok('$schema' in ok, '$schema is for editors only');
  const e = thrown(() => checkConfigFile('/p/jobtrail.config.json', { brokr: 'memory' }));
  assert.ok(e instanceof ConfigError);
  assert.is(e.message.split('\n').length, 1, 'one line');
  assert.match(e.message, '/p/jobtrail.config.json: unknown key "brokr" (did you mean "broker"?)');
});

test('a wrong type names the file, the key, what it must be and what it got; a non-object is refused', () => {
  const e = thrown(() => checkConfigFile('/p/jobtrail.config.json', { sweepIntervalMs: '15s', logLevel: 'loud', store: '' }));
  assert.is(e.message.split('\n').length, 1);
  assert.match(e.message, '/p/jobtrail.config.json: ');
  assert.match(e.message, '"sweepIntervalMs" must be a number of milliseconds ≥ 0, got "15s"');
  assert.match(e.message, '"logLevel" must be one of trace, debug, info, warn, error, fatal, silent, got "loud"');
  assert.match(e.message, '"store" must be a non-empty string, got ""');
  assert.match(thrown(() => checkConfigFile('/p/c.json', [1])).message, '/p/c.json: expected an object of settings');
  assert.match(thrown(() => checkConfigFile('/p/c.json', { gracePeriodMs: -1 })).message, '"gracePeriodMs" must be a number');
});

test('found from the working directory up: the nearest wins; none above is undefined; two in one directory is an error', () => {
  const outer = project({ 'jobtrail.config.json': '{}', 'inner/jobtrail.config.mjs': 'export default {}', 'inner/a/b/.keep': '' });
  assert.is(findConfigFile(join(outer, 'inner', 'a', 'b')), join(outer, 'inner', 'jobtrail.config.mjs'));
  assert.is(findConfigFile(join(outer, 'inner')), join(outer, 'inner', 'jobtrail.config.mjs'));
  assert.is(findConfigFile(outer), join(outer, 'jobtrail.config.json'));
  const none = project({ 'deep/er/.keep': '' });
  // Walks to the filesystem root and stops (this test's tree has none above it).
  assert.is(findConfigFile(join(none, 'deep', 'er')), findConfigFile(root));
  const two = project({ 'jobtrail.config.json': '{}', 'jobtrail.config.ts': 'export default {}' });
  assert.match(thrown(() => findConfigFile(two)).message, 'has jobtrail.config.json and jobtrail.config.ts');
});

test('relative sqlite: and workers paths are relative to the file, not the working directory; others pass as they are', async () => {
  const dir = project({
    'jobtrail.config.json': JSON.stringify({ store: 'sqlite:./data/events.db', workers: './dist/workers.js', broker: 'memory' }),
    'services/api/.keep': '',
  });
  const c = await loadProjectConfig(join(dir, 'services', 'api'));
  assert.is(c?.file, join(dir, 'jobtrail.config.json'));
  assert.is(c?.store, `sqlite:${join(dir, 'data', 'events.db')}`);
  assert.is(c?.workers, join(dir, 'dist', 'workers.js'));
  const other = project({ 'jobtrail.config.json': JSON.stringify({ store: 'sqlite::memory:', workers: 'some-package/workers' }) });
  const d = await loadProjectConfig(other);
  assert.is(d?.store, 'sqlite::memory:');
  assert.is(d?.workers, 'some-package/workers', 'a package name is not a path');
});

test('.mjs and .ts files export default an object; a missing default or a bad module is a one-line error naming the file', async () => {
  const mjs = project({ 'jobtrail.config.mjs': "export default { broker: 'memory', sweepGraceMs: 500 };" });
  assert.equal(await loadProjectConfig(mjs), { broker: 'memory', sweepGraceMs: 500, file: join(mjs, 'jobtrail.config.mjs') });
  const ts = project({
    'jobtrail.config.ts': "const grace: number = 2_000;\nexport default { gracePeriodMs: grace, logLevel: 'warn' as const };",
  });
  assert.equal(await loadProjectConfig(ts), { gracePeriodMs: 2000, logLevel: 'warn', file: join(ts, 'jobtrail.config.ts') });
  const noDefault = project({ 'jobtrail.config.mjs': 'export const store = "sqlite:x.db";' });
  assert.match(
    (await rejected(loadProjectConfig(noDefault))).message,
    `${join(noDefault, 'jobtrail.config.mjs')}: export default an object`,
  );
  const broken = project({ 'jobtrail.config.mjs': 'export default {' });
  const e = await rejected(loadProjectConfig(broken));
  assert.ok(e instanceof ConfigError);
  assert.match(e.message, `${join(broken, 'jobtrail.config.mjs')}: cannot load it`);
  const badJson = project({ 'jobtrail.config.json': '{"store": ' });
  assert.match((await rejected(loadProjectConfig(badJson))).message, 'jobtrail.config.json: not valid JSON');
});

test('--config / JOBTRAIL_CONFIG name a file (relative to the working directory); one that does not exist is an error', async () => {
  const dir = project({ 'conf/staging.json': JSON.stringify({ broker: 'memory' }), 'jobtrail.config.json': '{"broker": "amqp://x"}' });
  const c = await loadProjectConfig(dir, { path: 'conf/staging.json', from: '--config' });
  assert.is(c?.broker, 'memory', 'the named file, not the one found');
  const e = await rejected(loadProjectConfig(dir, { path: 'conf/prod.json', from: 'JOBTRAIL_CONFIG' }));
  assert.is(e.message, `no config file at ${join(dir, 'conf', 'prod.json')} (from JOBTRAIL_CONFIG)`);
});

const quietIo = (cwd: string, env: Record<string, string> = {}): Io & { lines: string[] } => {
  const lines: string[] = [];
  return { out: (l) => lines.push(l), err: (l) => lines.push(l), env, cwd, lines };
};

test('precedence: flag > environment > config file > default, for store, broker, workers and the log level', async () => {
  const dir = project({
    'jobtrail.config.json': JSON.stringify({
      store: 'sqlite:./file.db',
      broker: 'amqp://u:p@file:5672',
      workers: './w.js',
      logLevel: 'debug',
    }),
  });
  const fromFile = makeContext(quietIo(dir), readEnvConfig({}));
  await fromFile.loadProject();
  assert.is(fromFile.storeUrl({}), `sqlite:${join(dir, 'file.db')}`);
  assert.is(fromFile.brokerUrl({}), 'amqp://u:p@file:5672');
  assert.is(fromFile.workersModule({}), join(dir, 'w.js'));
  const env = { JOBTRAIL_STORE: 'sqlite:env.db', JOBTRAIL_BROKER: 'memory', JOBTRAIL_WORKERS: 'env-workers' };
  const fromEnv = makeContext(quietIo(dir, env), readEnvConfig(env));
  await fromEnv.loadProject();
  assert.is(fromEnv.storeUrl({}), 'sqlite:env.db');
  assert.is(fromEnv.brokerUrl({}), 'memory');
  assert.is(fromEnv.workersModule({}), 'env-workers');
  const flags = { store: 'sqlite:flag.db', broker: 'amqp://flag', workers: 'flag-workers' };
  assert.is(fromEnv.storeUrl(flags), 'sqlite:flag.db');
  assert.is(fromEnv.brokerUrl(flags), 'amqp://flag');
  assert.is(fromEnv.workersModule(flags), 'flag-workers');
  const none = makeContext(quietIo(project()), readEnvConfig({}));
  await none.loadProject();
  assert.is(none.storeUrl({}), 'sqlite:./.jobtrail/events.db');
  assert.is(none.brokerUrl({}), 'memory');
});

test('through runCli: a read command names the config file its missing store came from; a bad file fails every command (exit 2)', async () => {
  const dir = project({ 'jobtrail.config.json': JSON.stringify({ store: 'sqlite:./nowhere/events.db' }), 'sub/.keep': '' });
  const io = quietIo(join(dir, 'sub'));
  assert.is(await runCli(['list'], io), 1);
  assert.match(io.lines.join('\n'), `no jobtrail store at ${join(dir, 'nowhere', 'events.db')}`);
  assert.match(io.lines.join('\n'), `from ${join(dir, 'jobtrail.config.json')}`);
  // The environment wins over the file, and says so.
  const io2 = quietIo(join(dir, 'sub'), { JOBTRAIL_STORE: 'sqlite:./env.db' });
  assert.is(await runCli(['list'], io2), 1);
  assert.match(io2.lines.join('\n'), 'from JOBTRAIL_STORE');
  // --config, before or after the command.
  writeFileSync(join(dir, 'other.json'), JSON.stringify({ store: 'sqlite:./other/events.db' }));
  for (const argv of [
    ['--config', '../other.json', 'list'],
    ['list', '--config', '../other.json'],
  ]) {
    const io3 = quietIo(join(dir, 'sub'));
    assert.is(await runCli(argv, io3), 1, argv.join(' '));
    assert.match(io3.lines.join('\n'), `no jobtrail store at ${join(dir, 'other', 'events.db')}`);
  }
  const bad = project({ 'jobtrail.config.json': '{"stor": "sqlite:x.db"}' });
  for (const argv of [['list'], ['show', 'x'], ['enqueue', 'w'], ['run']]) {
    const io4 = quietIo(bad);
    assert.is(await runCli(argv, io4), 2, argv.join(' '));
    assert.equal(io4.lines, [
      `jobtrail: ${join(bad, 'jobtrail.config.json')}: unknown key "stor" (did you mean "store"?); the keys are store, broker, workers, logLevel, gracePeriodMs, sweepIntervalMs, sweepGraceMs, heartbeatIntervalMs, synchronous, queues, retention`,
    ]);
  }
  const help = quietIo(bad);
  assert.is(await runCli(['--help'], help), 0, '--help needs no config');
});

test.run();
