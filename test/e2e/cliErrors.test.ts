// Connection failures, as a user meets them through the CLI: one line that says what is wrong and what to do,
// no stack unless --verbose (issue 23). Real conditions: the local RabbitMQ with a wrong password and an unknown
// virtual host, a closed port, an EventStoreDB URL where nothing listens or where the TLS setting is wrong, and
// SQLite files that cannot be opened or are locked by another process.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runJobtrail, type Ran } from '../support/cli.js';
import { rabbitUrl } from '../support/rabbit.js';

const test = suite('CLI: connection failures in one line, with the fix');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-cli-errors-'));
const store = `sqlite:${join(dir, 'ok.db')}`;
const workers = ['--workers', 'test/fixtures/workers.ts'];
const servers: Server[] = [];
const children: ChildProcess[] = [];
test.after(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One line on stderr, no stack, exit 1, and every `expected` text in it. */
const oneLine = (r: Ran, ...expected: (string | RegExp)[]): string => {
  assert.is(r.code, 1, `exit code 1: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  const line = lines[lines.length - 1]!;
  assert.not.match(r.stderr, /\n\s+at /, `no stack:\n${r.stderr}`);
  assert.match(line, /^jobtrail: /);
  for (const e of expected) assert.match(line, e);
  return line;
};

/** A port on 127.0.0.1 where nothing listens (bound, then closed). */
const closedPort = async (): Promise<number> => {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  await once(s, 'close');
  return port;
};

/** A TCP server that answers anything with an HTTP/1.1 error: not the TLS EventStoreDB a URL without tls=false expects. */
const plainServer = async (): Promise<number> => {
  const s = createServer((c) => {
    c.on('error', () => undefined);
    c.on('data', () => c.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  });
  servers.push(s);
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return (s.address() as AddressInfo).port;
};

const withPassword = (url: string, password: string): string => {
  const u = new URL(url);
  u.password = password;
  return u.toString();
};

test('RabbitMQ: a wrong password names the URL without it, and how to fix it', async () => {
  const broker = withPassword(rabbitUrl, 'not-the-password');
  const r = await runJobtrail(['enqueue', 'sleeper', '{}', '--store', store, '--broker', broker, ...workers]);
  const line = oneLine(r, 'refused the user name or password', 'ACCESS_REFUSED', 'fix them in the broker URL', /--broker/);
  assert.not.match(line, 'not-the-password');
});

test('RabbitMQ: an unknown virtual host is named, with the rabbitmqctl commands that create it', async () => {
  const vhost = `jobtrail-no-such-vhost-${process.pid}`;
  const u = new URL(rabbitUrl);
  u.pathname = `/${vhost}`;
  const r = await runJobtrail(['enqueue', 'sleeper', '{}', '--store', store, '--broker', u.toString(), ...workers]);
  oneLine(r, `refused access to the virtual host "${vhost}"`, `rabbitmqctl add_vhost ${vhost}`, 'set_permissions');
});

test('RabbitMQ: a closed port says nothing listens there', async () => {
  const port = await closedPort();
  const r = await runJobtrail([
    'enqueue',
    'sleeper',
    '{}',
    '--store',
    store,
    '--broker',
    `amqp://guest:guest@127.0.0.1:${port}`,
    ...workers,
  ]);
  oneLine(r, `RabbitMQ refused the connection at 127.0.0.1:${port}`, 'nothing listens there', 'Start RabbitMQ');
});

test('--verbose adds the stack to the same message', async () => {
  const port = await closedPort();
  const r = await runJobtrail([
    'enqueue',
    'sleeper',
    '{}',
    '--store',
    store,
    '--broker',
    `amqp://guest:guest@127.0.0.1:${port}`,
    '--verbose',
    ...workers,
  ]);
  assert.is(r.code, 1);
  assert.match(r.stderr, `RabbitMQ refused the connection at 127.0.0.1:${port}`);
  assert.match(r.stderr, /\n\s+at /, 'the stack');
});

test('EventStoreDB: nothing listening at the URL', async () => {
  const port = await closedPort();
  const r = await runJobtrail(['list', '--store', `esdb://127.0.0.1:${port}?tls=false`], { timeoutMs: 90_000 });
  oneLine(r, `EventStoreDB at esdb://127.0.0.1:${port}?tls=false refused the connection`, 'Start EventStoreDB', '--store');
});

test('EventStoreDB: TLS on (the default) against a server that does not speak TLS', async () => {
  const port = await plainServer();
  const r = await runJobtrail(['list', '--store', `esdb://127.0.0.1:${port}`], { timeoutMs: 90_000 });
  oneLine(r, "the connection's TLS does not match the server's", 'add ?tls=false');
});

test('SQLite: a store path that is a directory', async () => {
  const path = join(dir, 'a-directory.db');
  mkdirSync(path);
  const r = await runJobtrail(['list', '--store', `sqlite:${path}`]);
  oneLine(r, `cannot open the store sqlite:${path}`, 'permissions');
});

test('SQLite: a file that is not a database', async () => {
  const path = join(dir, 'notes.txt');
  writeFileSync(path, 'these are not the jobs you are looking for\n'.repeat(100));
  const r = await runJobtrail(['list', '--store', `sqlite:${path}`]);
  oneLine(r, `sqlite:${path} is not a jobtrail store`, 'Point the store at the right file');
});

test('SQLite: a store another program holds locked', async () => {
  const path = join(dir, 'locked.db');
  const made = await runJobtrail(['enqueue', 'sleeper', '{}', '--store', `sqlite:${path}`, ...workers]);
  assert.is(made.code, 0, made.stderr);
  // Another program (an sqlite3 shell, a backup) holding a write lock on the file.
  const holder = spawn(
    process.execPath,
    [
      '-e',
      `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(path)}); db.exec('BEGIN EXCLUSIVE'); console.log('locked'); setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(holder);
  await once(holder.stdout!, 'data');
  const r = await runJobtrail(['list', '--store', `sqlite:${path}`]);
  holder.kill('SIGKILL');
  oneLine(r, `the store sqlite:${path} is locked by another process`, 'retry');
});

test.run();
