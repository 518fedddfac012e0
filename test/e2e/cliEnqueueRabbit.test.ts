// `jobtrail enqueue` on RabbitMQ without --workers (issue 23): it sends the wire contract's enqueue command, as
// createProducer does, and the `jobtrail run` process that takes it checks and records the job. In a virtual host
// of its own, so that no other process sharing the RabbitMQ takes the commands or the work.
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runJobtrail, spawnJobtrail } from '../support/cli.js';
import { rabbitmqctl, rabbitUrl } from '../support/rabbit.js';

const test = suite('jobtrail enqueue over RabbitMQ without --workers');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-cli-rabbit-'));
const store = `sqlite:${join(dir, 'events.db')}`;
const vhost = `jobtrail-cli-${randomUUID().slice(0, 8)}`;
const broker = (() => {
  const u = new URL(rabbitUrl);
  u.pathname = `/${vhost}`;
  return u.toString();
})();
const user = decodeURIComponent(new URL(rabbitUrl).username) || 'guest';
const runner = { child: undefined as ReturnType<typeof spawnJobtrail> | undefined, stderr: '' };

test.before(async () => {
  await rabbitmqctl('add_vhost', vhost);
  await rabbitmqctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*');
  runner.child = spawnJobtrail(['run', '--broker', broker, '--store', store, '--workers', 'test/fixtures/workers.ts']);
  runner.child.stderr!.on('data', (d) => (runner.stderr += d));
});
test.after(async () => {
  if (runner.child !== undefined && runner.child.exitCode === null) {
    runner.child.kill('SIGTERM');
    await once(runner.child, 'exit');
  }
  await rabbitmqctl('delete_vhost', vhost);
  rmSync(dir, { recursive: true, force: true });
});

const enqueue = (args: readonly string[], input?: string) =>
  runJobtrail(['enqueue', ...args, '--broker', broker, '--reply-timeout', '30000'], input !== undefined ? { input } : {});

test('a command is answered by the run process: created, then exists already; the job runs', async () => {
  const first = await enqueue(['sleeper', '{"value":"via-command"}', '--job-id', 'cmd-1']);
  assert.is(first.code, 0, `${first.stderr}\nrun: ${runner.stderr}`);
  assert.is(first.stdout.trim(), 'enqueued: cmd-1');
  assert.match(first.stderr, 'the worker name and payload are not checked here');
  const again = await enqueue(['sleeper', '{}', '--job-id', 'cmd-1', '--json']);
  assert.equal(JSON.parse(again.stdout), { ok: true, jobId: 'cmd-1', created: false });
  let view: { status: string; result?: unknown; enqueuedBy?: string } = { status: '' };
  for (let i = 0; i < 100 && view.status !== 'completed'; i++) {
    const r = await runJobtrail(['show', 'cmd-1', '--json', '--store', store]);
    if (r.code === 0) view = JSON.parse(r.stdout) as typeof view;
    if (view.status !== 'completed') await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.is(view.status, 'completed');
  assert.is(view.result, 'via-command');
  assert.is(view.enqueuedBy, 'cli');
});

test("a refused command exits 1 with the run process's reason; nothing is recorded", async () => {
  const bad = await enqueue(['sleeper', '{"ms":"soon"}', '--job-id', 'cmd-bad']);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /the enqueue command was rejected: the payload does not match worker "sleeper"/);
  const unknown = await enqueue(['nobody', '{}']);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, 'unknown worker "nobody"');
  assert.is((await runJobtrail(['show', 'cmd-bad', '--store', store])).code, 1);
});

test('--from - sends every line as a command; the summary names the refused lines', async () => {
  const lines = [
    JSON.stringify({ worker: 'sleeper', payload: {}, jobId: 'cmd-l1' }),
    JSON.stringify({ worker: 'sleeper', payload: { ms: 'x' }, jobId: 'cmd-l2' }),
    'nope',
    JSON.stringify({ worker: 'sleeper', payload: {}, jobId: 'cmd-1' }),
  ].join('\n');
  const r = await enqueue(['--from', '-'], lines);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stdout, /^enqueued 1, duplicates 1 .*rejected 2/m);
  assert.match(r.stdout, /line 2: the enqueue command was rejected: the payload does not match/);
  assert.match(r.stdout, /line 3: not JSON/);
  assert.is((await runJobtrail(['show', 'cmd-l1', '--store', store])).code, 0);
});

test('--after needs --workers: a continuation is not a command', async () => {
  const r = await enqueue(['sleeper', '{}', '--after', 'cmd-1']);
  assert.is(r.code, 2);
  assert.match(r.stderr, '--after and --on need --workers');
});

test.run();
