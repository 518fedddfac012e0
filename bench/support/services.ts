import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as amqp from 'amqplib';
import pg from 'pg';
import { withTimeout } from './clock.js';

/** Where the peers' services are; each can be overridden by an environment variable. */
export const serviceUrls = {
  redis: { host: process.env['BENCH_REDIS_HOST'] ?? '127.0.0.1', port: Number(process.env['BENCH_REDIS_PORT'] ?? 6379) },
  postgres: process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
  rabbitmq: process.env['BENCH_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672',
} as const;

export interface ServiceCheck {
  readonly ok: boolean;
  /** What is missing and how to get it, when not ok. */
  readonly why?: string;
}

const require = createRequire(import.meta.url);

/** Whether a package can be loaded from the repository's node_modules. */
export const hasPackage = (name: string): boolean => {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
};

const redisPing = (where: { readonly host: string; readonly port: number } = serviceUrls.redis): Promise<void> =>
  new Promise((resolve, reject) => {
    const socket = netConnect(where.port, where.host);
    socket.setTimeout(3000, () => socket.destroy(new Error('no answer within 3 s')));
    socket.once('error', reject);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.end();
      if (data.toString('utf8').startsWith('+PONG')) resolve();
      else reject(new Error(`unexpected answer to PING: ${data.toString('utf8').trim()}`));
    });
  });

export const checkRedis = async (): Promise<ServiceCheck> => {
  const where = `${serviceUrls.redis.host}:${serviceUrls.redis.port}`;
  try {
    await redisPing();
  } catch (error) {
    return {
      ok: false,
      why: `Redis is not reachable at ${where} (${(error as Error).message}); start redis-server or set BENCH_REDIS_HOST/BENCH_REDIS_PORT`,
    };
  }
  // BullMQ 6 no longer depends on a Redis driver: ioredis (or node-redis) is an optional peer dependency.
  if (!hasPackage('ioredis'))
    return {
      ok: false,
      why: `Redis is up at ${where}, but BullMQ ${bullmqVersion()} has no Redis driver to talk to it: its driver is an optional peer dependency and the package "ioredis" is not installed; add it (npm install --save-dev ioredis) to measure BullMQ`,
    };
  return { ok: true };
};

export const bullmqVersion = (): string => {
  try {
    return (require('bullmq/package.json') as { version: string }).version;
  } catch {
    return '(not installed)';
  }
};

export const checkPostgres = async (): Promise<ServiceCheck> => {
  const client = new pg.Client({ connectionString: serviceUrls.postgres, connectionTimeoutMillis: 3000 });
  try {
    await withTimeout(client.connect(), 4000, 'no answer within 4 s');
    await client.query('SELECT 1');
    return { ok: true };
  } catch (error) {
    return {
      ok: false,
      why: `PostgreSQL is not reachable at ${serviceUrls.postgres} (${(error as Error).message}); start it or set BENCH_PG_URL`,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
};

export const checkRabbit = async (): Promise<ServiceCheck> => {
  try {
    const connection = await withTimeout(amqp.connect(serviceUrls.rabbitmq, { timeout: 3000 }), 4000, 'no answer within 4 s');
    await connection.close();
    return { ok: true };
  } catch (error) {
    return {
      ok: false,
      why: `RabbitMQ is not reachable at ${serviceUrls.rabbitmq.replace(/:[^:@/]*@/, ':***@')} (${(error as Error).message}); start rabbitmq-server or set BENCH_AMQP_URL`,
    };
  }
};

/** Issue 24: the Redis with appendfsync always that the bench starts (bench/support/redisAof.ts), once it has. */
export const redisAofAddress = (): { readonly host: string; readonly port: number } => ({
  host: '127.0.0.1',
  port: Number(process.env['BENCH_REDIS_AOF_PORT'] ?? 0),
});

/** Starts `redis-server` with every write fsynced (appendonly yes, appendfsync always) in a temporary directory. */
export const startRedisAof = async (): Promise<{ readonly check: ServiceCheck; stop(): Promise<void> }> => {
  const noop = async () => undefined;
  const version = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (version.error !== undefined)
    return {
      check: {
        ok: false,
        why: `redis-server is not on PATH (${version.error.message}): install Redis to measure BullMQ on a synced Redis`,
      },
      stop: noop,
    };
  if (!hasPackage('ioredis'))
    return { check: { ok: false, why: 'the package "ioredis" (BullMQ\'s Redis driver) is not installed' }, stop: noop };
  const port = await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'jobtrail-bench-redis-aof-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always'];
  const child = spawn('redis-server', [...args, '--save', '', '--daemonize', 'no', '--logfile', join(dir, 'redis.log')], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A bench stopped by Ctrl-C or an error leaves no server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const where = { host: '127.0.0.1', port };
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await redisPing(where);
      break;
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) {
        await stop();
        return { check: { ok: false, why: `redis-server on port ${port} did not answer (${(error as Error).message})` }, stop: noop };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  process.env['BENCH_REDIS_AOF_PORT'] = String(port);
  return { check: { ok: true, why: `${version.stdout.trim().split(' ').slice(0, 3).join(' ')} on port ${port}, in ${dir}` }, stop };
};
