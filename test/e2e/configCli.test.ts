// Issue 22: "forgetting --broker strands jobs silently". A project's jobtrail.config.json gives store, broker and
// workers to every command, found from the working directory up; the store remembers its broker, and a command with
// another one is refused with the fix, recording nothing. `jobtrail` runs as a subprocess (test/support/cli.ts).
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import { makeStore } from '../../src/backends/index.js';
import { settingsStreamName } from '../../src/conductor/index.js';
import { createEngine } from '../../src/engine.js';
import { makeSleeper } from '../fixtures/workers.js';
import { root, runJobtrail, spawnJobtrail } from '../support/cli.js';
import { privateVhost } from '../support/rabbit.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('jobtrail.config.json and the broker the store remembers (CLI)');
const base = realpathSync(mkdtempSync(join(tmpdir(), 'jobtrail-config-cli-')));
test.after(() => rmSync(base, { recursive: true, force: true }));
const workers = join(root, 'test/fixtures/workers.ts');

/** The environment of every command: none of jobtrail's variables, so only flags and the config file speak; the test's queue. */
const envOf = (queue: string): Record<string, string> => ({
  JOBTRAIL_STORE: '',
  JOBTRAIL_BROKER: '',
  JOBTRAIL_WORKERS: '',
  JOBTRAIL_CONFIG: '',
  JOBTRAIL_TEST_QUEUE: queue,
});

const children: ChildProcess[] = [];
test.after.each(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** `jobtrail run …` in `cwd`, until the test stops it; `ready` resolves once it consumes. */
const startRun = (args: readonly string[], cwd: string, env: Record<string, string>) => {
  const child = spawnJobtrail(['run', ...args], { cwd, env });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = once(child, 'exit');
  const ready = waitFor(
    () => /jobtrail run: .* SIGTERM or Ctrl-C stops/.test(stderr) || child.exitCode !== null,
    60_000,
    'jobtrail run to start',
  );
  return {
    stderr: () => stderr,
    ready: async () => {
      await ready;
      assert.is(child.exitCode, null, `jobtrail run exited: ${stderr}`);
    },
    stop: async () => {
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
};

/** The store's events of `stream` (read with a store handle of the test's own). */
const streamOf = async (storeUrl: string, stream: string) => {
  const store = await makeStore(storeUrl);
  try {
    const r = await store.readStream(stream)();
    if (E.isLeft(r)) throw new Error(r.left.message);
    return r.right;
  } finally {
    await store.close();
  }
};

/** Waits until the jobs are final, with an engine that only reads (its broker never dispatches). */
const finalViews = async (storeUrl: string, ids: readonly string[], queue: string) => {
  const engine = await createEngine({ store: storeUrl, broker: 'memory', workers: [makeSleeper(queue)] });
  try {
    return await engine.waitForFinal(ids, { timeoutMs: 60_000 });
  } finally {
    await engine.close();
  }
};

const oneLine = (stderr: string) => {
  const lines = stderr.trim().split('\n');
  assert.is(lines.length, 1, `one line: ${stderr}`);
  return lines[0]!;
};

test('a project with jobtrail.config.json (RabbitMQ, SQLite): run from one subdirectory, enqueue from another with no flags, the job completes', async () => {
  const vhost = await privateVhost();
  const queue = `test-${randomUUID()}`;
  const env = envOf(queue);
  const project = join(base, 'shop');
  mkdirSync(join(project, 'services', 'worker'), { recursive: true });
  mkdirSync(join(project, 'tools'), { recursive: true });
  writeFileSync(
    join(project, 'jobtrail.config.json'),
    JSON.stringify({ store: 'sqlite:./data/events.db', broker: vhost.url, workers }, null, 2),
  );
  const storeUrl = `sqlite:${join(project, 'data', 'events.db')}`;
  try {
    const run = startRun([], join(project, 'services', 'worker'), env);
    await run.ready();
    assert.match(run.stderr(), 'on rabbitmq', 'the broker came from the file');

    const enqueued = await runJobtrail(['enqueue', 'sleeper', '{"value": "from the config"}', '--job-id', 'cfg-1'], {
      cwd: join(project, 'tools'),
      env,
    });
    assert.is(enqueued.code, 0, enqueued.stderr);
    assert.is(enqueued.stdout.trim(), 'enqueued: cfg-1');
    const [view] = await finalViews(storeUrl, ['cfg-1'], queue);
    assert.is(view?.status, 'completed');
    assert.is(view?.result, 'from the config');
    assert.not.ok(existsSync(join(project, 'tools', '.jobtrail')), 'no store in the working directory: the relative path is the file’s');
    assert.not.ok(existsSync(join(project, 'services', 'worker', '.jobtrail')));

    // The store remembers: the run process recorded RabbitMQ, without the password.
    const shown = await runJobtrail(['broker', 'show', '--json'], { cwd: project, env });
    assert.is(shown.code, 0, shown.stderr);
    const record = JSON.parse(shown.stdout) as { kind: string; url: string; by: string };
    assert.is(record.kind, 'rabbitmq');
    assert.ok(record.url.includes(':***@') && !record.url.includes('guest:guest'), record.url);

    // The same store with --broker memory given explicitly: refused with the fix, nothing recorded.
    const before = (await streamOf(storeUrl, settingsStreamName)).length;
    const refused = await runJobtrail(['enqueue', 'sleeper', '{}', '--broker', 'memory', '--job-id', 'cfg-2'], {
      cwd: join(project, 'tools'),
      env,
    });
    assert.is(refused.code, 1, refused.stderr);
    const line = oneLine(refused.stderr);
    assert.match(line, "jobtrail: enqueue refused: this store's jobs are dispatched by rabbitmq at amqp://guest:***@127.0.0.1:5672/");
    assert.match(line, 'not by memory (from --broker); nothing was recorded');
    assert.match(line, `Use --broker amqp://guest:<password>@127.0.0.1:5672/${encodeURIComponent(vhost.name)}`);
    assert.match(line, 'to switch this store to another broker: jobtrail broker set <url>');
    assert.equal(await streamOf(storeUrl, 'job-cfg-2'), [], 'no job recorded');
    for (const args of [
      ['retry', 'cfg-1', '--broker', 'memory'],
      ['cancel', 'cfg-1', '--broker', 'memory'],
      ['dashboard', '--broker', 'memory', '--port', '0'],
    ]) {
      const r = await runJobtrail(args, { cwd: project, env });
      assert.is(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(oneLine(r.stderr), `${args[0]} refused: this store's jobs are dispatched by rabbitmq`);
    }
    assert.is((await streamOf(storeUrl, settingsStreamName)).length, before, 'the record is unchanged');
    assert.is((await streamOf(storeUrl, 'job-cfg-1')).length, 3, 'cfg-1 unchanged: enqueued, started, completed, nothing more');
    // Reading needs no broker check.
    const shownJob = await runJobtrail(['show', 'cfg-1', '--json'], { cwd: join(project, 'tools'), env });
    assert.is(shownJob.code, 0, shownJob.stderr);

    assert.is(await run.stop(), 0, run.stderr());
  } finally {
    await vhost.remove();
  }
});

test('no config file: with jobtrail run on RabbitMQ, enqueue without --broker used to strand the job; now it is refused, and broker set switches deliberately', async () => {
  const vhost = await privateVhost();
  const queue = `test-${randomUUID()}`;
  const env = envOf(queue);
  const dir = join(base, 'plain');
  mkdirSync(dir, { recursive: true });
  const storeUrl = `sqlite:${join(dir, 'events.db')}`;
  try {
    const run = startRun(['--store', storeUrl, '--broker', vhost.url, '--workers', workers], dir, env);
    await run.ready();
    // Before issue 22 this exited 0 ("enqueued: stranded") and the job stayed initial: the in-process broker ended with the command.
    const forgot = await runJobtrail(['enqueue', 'sleeper', '{}', '--store', storeUrl, '--workers', workers, '--job-id', 'stranded'], {
      cwd: dir,
      env,
    });
    assert.is(forgot.code, 1, forgot.stderr + forgot.stdout);
    assert.match(oneLine(forgot.stderr), 'not by memory (from the default); nothing was recorded');
    assert.equal(await streamOf(storeUrl, 'job-stranded'), []);
    const given = await runJobtrail(
      ['enqueue', 'sleeper', '{"value": 1}', '--store', storeUrl, '--workers', workers, '--broker', vhost.url, '--job-id', 'given'],
      { cwd: dir, env },
    );
    assert.is(given.code, 0, given.stderr);
    assert.is((await finalViews(storeUrl, ['given'], queue))[0]?.status, 'completed');
    assert.is(await run.stop(), 0, run.stderr());

    // The deliberate switch, recorded with who and why; then the in-process broker is the store's.
    const set = await runJobtrail(['broker', 'set', 'memory', '--store', storeUrl, '--by', 'ada', '--reason', 'back to embedded'], {
      cwd: dir,
      env,
    });
    assert.is(set.code, 0, set.stderr);
    assert.match(set.stdout, "recorded: this store's jobs are dispatched by memory (recorded by ada at");
    const events = await streamOf(storeUrl, settingsStreamName);
    assert.equal(
      events.map((e) => [
        e.type,
        (e.data as { kind: string }).kind,
        (e.data as { by?: string }).by,
        (e.data as { reason?: string }).reason,
      ]),
      [
        ['BrokerSet', 'rabbitmq', (events[0]!.data as { by: string }).by, undefined],
        ['BrokerSet', 'memory', 'ada', 'back to embedded'],
      ],
    );
    const now = await runJobtrail(['enqueue', 'sleeper', '{}', '--store', storeUrl, '--workers', workers, '--job-id', 'after-switch'], {
      cwd: dir,
      env,
    });
    assert.is(now.code, 0, now.stderr);
  } finally {
    await vhost.remove();
  }
});

test("run's sweep and heartbeat settings: from the config file, a flag wins over the file", async () => {
  const queue = `test-${randomUUID()}`;
  const env = envOf(queue);
  const project = join(base, 'sweeps');
  mkdirSync(join(project, 'sub'), { recursive: true });
  const storeUrl = `sqlite:${join(project, 'events.db')}`;
  // sweepIntervalMs 0 in the file: never sweep, unless the flag says otherwise; heartbeatIntervalMs 0: no heartbeat stream.
  writeFileSync(
    join(project, 'jobtrail.config.json'),
    JSON.stringify({ store: 'sqlite:events.db', workers, sweepIntervalMs: 0, sweepGraceMs: 300, heartbeatIntervalMs: 0 }),
  );
  // A job recorded but never dispatched: its enqueuer's in-process broker ended with it (nothing recorded a broker yet).
  const enqueuer = await createEngine({ store: storeUrl, broker: 'memory', workers: [makeSleeper(queue)] });
  const { jobId } = await enqueuer.enqueue('sleeper', { value: 'swept' });
  await enqueuer.close();
  // --no-recover: only the sweep can find it; the file's grace (300 ms) and the flag's interval (200 ms) make it prompt.
  const run = startRun(['--no-recover', '--sweep-interval', '200'], join(project, 'sub'), env);
  await run.ready();
  const [view] = await finalViews(storeUrl, [jobId], queue);
  assert.is(view?.status, 'completed', 'swept within seconds, not the defaults’ 60 s + 15 s');
  const store = await makeStore(storeUrl);
  try {
    const r = await store.readAll({ streamPrefix: 'process-' })();
    assert.ok(E.isRight(r));
    assert.equal(r.right, [], 'heartbeatIntervalMs 0 from the file: no heartbeat recorded');
  } finally {
    await store.close();
  }
  assert.is(await run.stop(), 0, run.stderr());
  const bad = await runJobtrail(['run', '--sweep-interval', '15s'], { cwd: project, env });
  assert.is(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, '--sweep-interval takes milliseconds, a whole number ≥ 0 (e.g. 15000), got "15s"');
});

test('a bad config file: a one-line error naming the file and the key, whatever the command (exit 2)', async () => {
  const project = join(base, 'bad');
  mkdirSync(join(project, 'deep'), { recursive: true });
  writeFileSync(join(project, 'jobtrail.config.json'), JSON.stringify({ store: 'sqlite:x.db', brokr: 'amqp://localhost' }));
  for (const args of [['enqueue', 'sleeper'], ['list'], ['run']]) {
    const r = await runJobtrail(args, { cwd: join(project, 'deep'), env: envOf('unused') });
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.is(
      oneLine(r.stderr),
      `jobtrail: ${join(project, 'jobtrail.config.json')}: unknown key "brokr" (did you mean "broker"?); the keys are store, broker, workers, logLevel, gracePeriodMs, sweepIntervalMs, sweepGraceMs, heartbeatIntervalMs, synchronous, queues, retention`,
    );
  }
  writeFileSync(join(project, 'jobtrail.config.json'), '{"heartbeatIntervalMs": "5s"}');
  const r = await runJobtrail(['list'], { cwd: project, env: envOf('unused') });
  assert.is(r.code, 2);
  assert.is(
    oneLine(r.stderr),
    `jobtrail: ${join(project, 'jobtrail.config.json')}: "heartbeatIntervalMs" must be a number of milliseconds ≥ 0, got "5s"`,
  );
  assert.not.ok(existsSync(join(project, 'x.db')), 'nothing created');
});

test.run();
