// Issue 24: the embedded store's durability (SQLite's synchronous) as a user gives it: `?synchronous=` in the store
// URL, "synchronous" in the config file, the engine's `synchronous` option; bad values name the allowed ones.
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { embeddedStoreFile, parseSqliteUrl, parseSynchronous } from '../../../src/backends/index.js';
import { resolveSynchronous } from '../../../src/backends/durability.js';
import { makeContext, type Io } from '../../../src/cli/context.js';
import { fileSynchronous, storeDurability } from '../../../src/cli/durability.js';
import { runCli } from '../../../src/cli/main.js';
import { loadProjectConfig } from '../../../src/cli/projectConfig.js';
import { checkConfigFile, ConfigError, readEnvConfig } from '../../../src/config/index.js';
import { ErrorCodes, isJobtrailError } from '../../../src/errors/index.js';

const test = suite('durability setting (synchronous)');
const root = realpathSync(mkdtempSync(join(tmpdir(), 'jobtrail-durability-')));
test.after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
const project = (files: Record<string, string>): string => {
  const dir = join(root, `p${++n}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
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
const quietIo = (cwd: string, env: Record<string, string> = {}): Io & { lines: string[] } => {
  const lines: string[] = [];
  return { out: (l) => lines.push(l), err: (l) => lines.push(l), env, cwd, lines };
};

test('parseSynchronous takes full and normal in any case; anything else names both and what each promises', () => {
  assert.is(parseSynchronous('full', 'x'), 'full');
  assert.is(parseSynchronous('NORMAL', 'x'), 'normal');
  assert.is(parseSynchronous(' Normal ', 'x'), 'normal');
  for (const bad of ['off', 'extra', '', 2, undefined, null]) {
    const e = thrown(() => parseSynchronous(bad, 'the setting'));
    assert.ok(isJobtrailError(e, ErrorCodes.InvalidConfig), String(bad));
    assert.match(e.message, 'the setting must be "full" (the default: every commit synced to disk');
    assert.match(e.message, 'or "normal" (commits synced at WAL checkpoints: survives a process crash');
    assert.match(e.message, `; got ${JSON.stringify(bad) ?? 'undefined'}`);
  }
});

test('a sqlite: URL: its path before the query, ?synchronous= after; an unknown parameter or a bad value is refused', () => {
  assert.equal(parseSqliteUrl('sqlite:./x.db'), { path: './x.db' });
  assert.equal(parseSqliteUrl('sqlite:./x.db?synchronous=full'), { path: './x.db', synchronous: 'full' });
  assert.equal(parseSqliteUrl('sqlite:/a/b.db?synchronous=NORMAL'), { path: '/a/b.db', synchronous: 'normal' });
  assert.equal(parseSqliteUrl('sqlite::memory:?synchronous=normal'), { path: ':memory:', synchronous: 'normal' });
  assert.equal(parseSqliteUrl('sqlite:./x.db?'), { path: './x.db' });
  assert.is(embeddedStoreFile('sqlite:/a/b.db?synchronous=normal'), '/a/b.db', 'the file is the path without the query');
  assert.is(embeddedStoreFile('sqlite::memory:?synchronous=normal'), undefined);
  const bad = thrown(() => parseSqliteUrl('sqlite:./x.db?synchronous=off'));
  assert.ok(isJobtrailError(bad, ErrorCodes.InvalidConfig));
  assert.match(bad.message, 'event store URL "sqlite:./x.db?synchronous=off": synchronous must be "full"');
  assert.match(bad.message, 'got "off"');
  assert.match(
    thrown(() => parseSqliteUrl('sqlite:./x.db?sync=normal')).message,
    'unknown parameter "sync"; the one a sqlite: URL takes is synchronous=full|normal',
  );
  assert.match(thrown(() => parseSqliteUrl('sqlite:./x.db?synchronous=full&synchronous=normal')).message, 'synchronous is given twice');
});

test('the URL and the option together: either one, the same in both, or full by default; different values are refused', () => {
  assert.is(resolveSynchronous('sqlite:x', undefined, undefined), 'full');
  assert.is(resolveSynchronous('sqlite:x', 'normal', undefined), 'normal');
  assert.is(resolveSynchronous('sqlite:x', undefined, 'normal'), 'normal');
  assert.is(resolveSynchronous('sqlite:x', 'normal', 'normal'), 'normal');
  assert.match(
    thrown(() => resolveSynchronous('sqlite:x?synchronous=full', 'full', 'normal')).message,
    'says synchronous=full but the synchronous option says "normal"',
  );
  assert.match(thrown(() => resolveSynchronous('sqlite:x', undefined, 'fast')).message, 'the synchronous option must be "full"');
});

test('the config file: "synchronous" full or normal; a bad value, a store URL that says another, or a non-sqlite store is refused', () => {
  assert.equal(checkConfigFile('/p/j.json', { synchronous: 'normal' }), { synchronous: 'normal' });
  assert.equal(checkConfigFile('/p/j.json', { synchronous: 'FULL', store: 'sqlite:./a.db' }), {
    synchronous: 'full',
    store: 'sqlite:./a.db',
  });
  assert.equal(checkConfigFile('/p/j.json', { store: 'sqlite:./a.db?synchronous=normal', synchronous: 'normal' }), {
    store: 'sqlite:./a.db?synchronous=normal',
    synchronous: 'normal',
  });
  const bad = thrown(() => checkConfigFile('/p/j.json', { synchronous: 'off' }));
  assert.ok(bad instanceof ConfigError);
  assert.is(bad.message.split('\n').length, 1);
  assert.match(bad.message, '/p/j.json: "synchronous" must be "full" (the default: every commit synced to disk');
  assert.match(bad.message, 'got "off"');
  assert.match(
    thrown(() => checkConfigFile('/p/j.json', { store: 'sqlite:./a.db?synchronous=full', synchronous: 'normal' })).message,
    '/p/j.json: "store" says synchronous=full but "synchronous" says "normal": keep one of them',
  );
  assert.match(
    thrown(() => checkConfigFile('/p/j.json', { store: 'sqlite:./a.db?synchronous=fast' })).message,
    '/p/j.json: "store": event store URL "sqlite:./a.db?synchronous=fast": synchronous must be',
  );
  const esdb = thrown(() => checkConfigFile('/p/j.json', { store: 'esdb://admin:secret@h:2113', synchronous: 'normal' }));
  assert.match(esdb.message, '"synchronous" is the embedded SQLite store\'s durability, and "store" is not a sqlite: URL');
  assert.not.match(esdb.message, 'secret');
});

test('a relative store path in the file is resolved against its directory, its query kept', async () => {
  const dir = project({ 'jobtrail.config.json': JSON.stringify({ store: 'sqlite:./data/e.db?synchronous=normal' }) });
  assert.is((await loadProjectConfig(dir))?.store, `sqlite:${join(dir, 'data', 'e.db')}?synchronous=normal`);
});

test("which applies in the CLI: the store URL's, else the file's \"synchronous\", else full; the file's goes to the engine", async () => {
  const dir = project({ 'jobtrail.config.json': JSON.stringify({ store: 'sqlite:./e.db', synchronous: 'normal' }) });
  const project_ = await loadProjectConfig(dir);
  const file = join(dir, 'jobtrail.config.json');
  assert.equal(storeDurability(`sqlite:${join(dir, 'e.db')}`, project_), { synchronous: 'normal', from: file });
  assert.equal(storeDurability('sqlite:./e.db?synchronous=full', project_), { synchronous: 'full', from: 'the store URL' });
  assert.equal(storeDurability('sqlite:./e.db', undefined), { synchronous: 'full', from: 'the default' });
  assert.is(storeDurability('esdb://h:2113', project_), undefined);
  assert.equal(fileSynchronous('sqlite:./e.db', project_), { synchronous: 'normal' });
  assert.equal(fileSynchronous('sqlite:./e.db?synchronous=full', project_), {}, 'the URL says its own');
  assert.equal(fileSynchronous('esdb://h:2113', project_), {}, 'not for EventStoreDB');
  // The engine a command opens has it in force.
  const ctx = makeContext(quietIo(dir), readEnvConfig({}));
  await ctx.loadProject();
  assert.is(await ctx.withEngine({}, async (engine) => engine.adapters.synchronous), 'normal');
  assert.is(await ctx.withEngine({ store: `sqlite:${join(dir, 'e.db')}?synchronous=full` }, async (e) => e.adapters.synchronous), 'full');
});

test('jobtrail doctor says which is in force and where it came from; a bad URL is a FAIL naming the allowed values', async () => {
  const dir = project({ 'jobtrail.config.json': JSON.stringify({ store: 'sqlite:./e.db', synchronous: 'normal' }) });
  const io = quietIo(dir);
  assert.is(await runCli(['doctor'], io), 0, io.lines.join('\n'));
  assert.match(
    io.lines.join('\n'),
    `durability: synchronous=normal (commits synced at WAL checkpoints: survives a process crash; a power loss may lose the last commits), from ${join(dir, 'jobtrail.config.json')}`,
  );
  const io2 = quietIo(dir);
  assert.is(await runCli(['doctor', '--store', 'sqlite:./e.db?synchronous=full'], io2), 0);
  assert.match(
    io2.lines.join('\n'),
    'durability: synchronous=full (every commit synced to disk: survives a process crash and a power loss), from the store URL',
  );
  const io3 = quietIo(dir);
  assert.is(await runCli(['doctor', '--store', 'sqlite:./e.db?synchronous=fast'], io3), 1);
  assert.match(io3.lines.join('\n'), 'synchronous must be "full"');
});

test.run();
