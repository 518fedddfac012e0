// `jobtrail doctor`, spawned as a user runs it: the embedded store (healthy,
// with its projection lease), EventStoreDB unreachable (refused, and a server
// that accepts the connection but never answers: bounded by --timeout),
// EventStoreDB as the fake gRPC server (test/support/fakeEsdb) with and without
// its Projections service, RabbitMQ reachable (the tests'
// RabbitMQ, RABBITMQ_URL) and not. It runs src/cli/bin.ts through tsx, not
// dist/: the command is checked as written, with or without a build.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, defineWorker } from '../../src/index.js';
import { root } from '../support/cli.js';
import { startFakeEsdb } from '../support/fakeEsdb/index.js';
import { addProjectionsService } from '../support/fakeEsdb/projections.js';
import { openRawChannel, rabbitUrl } from '../support/rabbit.js';

const test = suite('jobtrail doctor, spawned as a user runs it');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-doctor-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs `jobtrail doctor …` from the sources; JOBTRAIL_STORE/JOBTRAIL_BROKER are cleared so that only the arguments count. */
const doctor = (args: readonly string[], timeoutMs = 30_000): Promise<Ran> =>
  new Promise((resolve) => {
    const started = Date.now();
    const env: NodeJS.ProcessEnv = { ...process.env, JOBTRAIL_LOG_LEVEL: 'warn' };
    delete env.JOBTRAIL_STORE;
    delete env.JOBTRAIL_BROKER;
    delete env.JOBTRAIL_WORKERS;
    execFile(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), join(root, 'src/cli/bin.ts'), 'doctor', ...args],
      { cwd: dir, env, timeout: timeoutMs },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr, ms: Date.now() - started }),
    );
  });

/** A TCP server that accepts connections and never says anything (a hung server, or a firewall that lets SYNs through). */
const silentServer = async (): Promise<{ port: number; close(): Promise<void> }> => {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
};

test('the embedded store, in-process broker: the file, its size, the projection lease, exit 0', async () => {
  const store = `sqlite:${join(dir, 'events.db')}`;
  const missing = await doctor(['--store', store]);
  assert.is(missing.code, 0, missing.stdout + missing.stderr);
  assert.match(missing.stdout, 'does not exist yet');

  const echo = defineWorker({ name: 'doctor-echo', action: async () => ({ ok: true }) });
  const engine = await createEngine({ store, broker: 'memory', workers: [echo] });
  try {
    await engine.start();
    const { jobId } = await engine.enqueue(echo, {});
    await engine.waitForFinal([jobId], { timeoutMs: 10_000 });
    await engine.listJobs({ limit: 1 }); // opens the read side: this process takes the projection lease
    const held = await doctor(['--store', store]);
    assert.is(held.code, 0, held.stdout + held.stderr);
    assert.match(held.stdout, /store\s+sqlite:.*events\.db \(embedded SQLite\)/);
    assert.match(held.stdout, /events\.db: \d+(\.\d)? (B|KiB|MiB)/);
    assert.match(held.stdout, new RegExp(`projection lease: held by \\S*:${process.pid}:`));
    assert.match(held.stdout, /ok\s+job-view: running, \d+ events folded/);
    assert.match(held.stdout, /broker\s+memory/);
    assert.match(held.stdout, 'all well');
  } finally {
    await engine.close();
  }
  const released = await doctor(['--store', store]);
  assert.is(released.code, 0, released.stdout + released.stderr);
  assert.match(released.stdout, 'projection lease: free');
});

test('EventStoreDB refusing connections: a clear message with the fix, exit 1, quickly', async () => {
  const listener = await silentServer();
  const port = listener.port;
  await listener.close(); // a port nobody listens on now
  const r = await doctor(['--store', `esdb://127.0.0.1:${port}?tls=false`, '--timeout', '2']);
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /FAIL\s+not reachable: .*(ECONNREFUSED|UNAVAILABLE)/);
  assert.match(r.stdout, 'docker compose up -d --wait');
  assert.match(r.stdout, '1 problem');
  assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
  const noTls = await doctor(['--store', `esdb://127.0.0.1:${port}`, '--timeout', '2']);
  assert.match(noTls.stdout, 'needs ?tls=false');
});

test('EventStoreDB that accepts the connection and never answers: bounded by --timeout, exit 1', async () => {
  const hung = await silentServer();
  try {
    const r = await doctor(['--store', `esdb://127.0.0.1:${hung.port}?tls=false`, '--timeout', '2']);
    assert.is(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /FAIL\s+not reachable: /);
    assert.ok(r.ms < 12_000, `took ${r.ms} ms`);
  } finally {
    await hung.close();
  }
});

test('EventStoreDB without its projection subsystem (the fake without Projections): reachable, its version, the fix, exit 1', async () => {
  const fake = await startFakeEsdb();
  try {
    const r = await doctor(['--store', fake.connectionString, '--timeout', '3']);
    assert.is(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /ok\s+reachable/);
    assert.match(r.stdout, /ok\s+server version 24\.10\.4/);
    assert.match(r.stdout, /FAIL\s+the projection subsystem is off/);
    assert.match(r.stdout, 'RunProjections=All');
  } finally {
    await fake.stop();
  }
});

test('EventStoreDB with projections (the fake with its Projections service): not installed → the fix; installed → exit 0', async () => {
  const fake = await startFakeEsdb({ services: (server, log) => void addProjectionsService(server, log) });
  try {
    const before = await doctor(['--store', fake.connectionString, '--timeout', '3']);
    assert.is(before.code, 1, before.stdout + before.stderr);
    assert.match(before.stdout, /FAIL\s+job-view: not installed/);
    assert.match(before.stdout, 'fix: npx jobtrail projections install');
    assert.match(before.stdout, /FAIL\s+\$by_category: Stopped/);

    const { EventStoreDBClient } = await import('@eventstore/db-client');
    const { installProjections } = await import('../../src/projections/esdb.js');
    const client = EventStoreDBClient.connectionString(fake.connectionString);
    try {
      await installProjections(client);
    } finally {
      await client.dispose();
    }
    const after = await doctor(['--store', fake.connectionString, '--timeout', '3']);
    assert.is(after.code, 0, after.stdout + after.stderr);
    assert.match(after.stdout, /ok\s+\$by_category: Running/);
    assert.match(after.stdout, /ok\s+job-view: Running/);
    assert.match(after.stdout, /ok\s+job-dashboard: Running/);
    assert.match(after.stdout, 'all well');
  } finally {
    await fake.stop();
  }
});

test('RabbitMQ reachable: its queues with their consumers; exit 0', async () => {
  const queue = `doctor-${randomUUID().slice(0, 8)}`;
  const raw = await openRawChannel();
  try {
    await raw.channel.assertQueue(`jobtrail.work.${queue}`, { durable: false, autoDelete: true });
    await raw.channel.consume(`jobtrail.work.${queue}`, () => undefined);
    const r = await doctor(['--store', `sqlite:${join(dir, 'rabbit.db')}`, '--broker', rabbitUrl, '--queue', queue]);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /broker\s+amqp:\/\/.*(\*\*\*|127\.0\.0\.1)/);
    assert.not.match(r.stdout, ':guest@', 'the password is not shown');
    assert.match(r.stdout, /ok\s+reachable/);
    assert.match(r.stdout, new RegExp(`ok\\s+jobtrail\\.work\\.${queue}: 0 messages ready, 1 consumer`));
    assert.match(r.stdout, /jobtrail\.enqueue: (not declared yet|\d+ messages? ready, \d+ consumers?)/);
  } finally {
    await raw.channel.deleteQueue(`jobtrail.work.${queue}`).catch(() => undefined);
    await raw.close();
  }
});

test('RabbitMQ unreachable (refused, and silent): the fix, exit 1, bounded', async () => {
  const hung = await silentServer();
  try {
    const silent = await doctor(['--broker', `amqp://guest:guest@127.0.0.1:${hung.port}`, '--timeout', '2']);
    assert.is(silent.code, 1, silent.stdout + silent.stderr);
    assert.match(silent.stdout, /FAIL\s+not reachable: /);
    assert.match(silent.stdout, 'is RabbitMQ running at amqp://guest:***@127.0.0.1');
    assert.ok(silent.ms < 12_000, `took ${silent.ms} ms`);
  } finally {
    await hung.close();
  }
  const refused = await doctor(['--broker', `amqp://guest:guest@127.0.0.1:${hung.port}`, '--timeout', '2']);
  assert.is(refused.code, 1);
  assert.match(refused.stdout, /FAIL\s+not reachable: .*ECONNREFUSED/);
  assert.match(refused.stdout, 'docker compose up -d --wait');
});

test.run();
