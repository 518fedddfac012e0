import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import { redisAofAddress, serviceUrls } from '../support/services.js';
import {
  SystemNames,
  type BenchJob,
  type Durability,
  type OpenOptions,
  type SystemDefinition,
  type SystemUnderTest,
} from '../support/system.js';

const queueOf = (runId: string) => `bench-${runId}`;

type RedisConstructor = new (
  options: Record<string, unknown>,
) => ConnectionOptions & { quit(): Promise<unknown>; call(...args: string[]): Promise<unknown> };

interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * BullMQ 6 ships no Redis driver (ioredis is an optional peer dependency), and
 * its ESM build cannot `require` one itself: construct the ioredis clients
 * here. The specifier is a variable so that the bench typechecks without it.
 */
const loadIORedis = async (): Promise<RedisConstructor> => {
  const specifier: string = 'ioredis';
  const mod = (await import(specifier)) as { default?: RedisConstructor; Redis?: RedisConstructor };
  const ctor = mod.Redis ?? mod.default;
  if (ctor === undefined) throw new Error('the package "ioredis" has no Redis export');
  return ctor;
};

const connect = async (where: RedisAddress) => {
  const IORedis = await loadIORedis();
  // BullMQ requires maxRetriesPerRequest: null on the connections its workers block on.
  return new IORedis({ host: where.host, port: where.port, maxRetriesPerRequest: null });
};

/** Issue 24: what a job BullMQ acknowledged survives, as the Redis at `where` is configured (CONFIG GET). */
const probeRedis = async (where: RedisAddress): Promise<Durability> => {
  const client = await connect(where);
  try {
    const get = async (key: string) => ((await client.call('CONFIG', 'GET', key)) as string[])[1] ?? '';
    const [appendonly, appendfsync, save] = [await get('appendonly'), await get('appendfsync'), await get('save')];
    if (appendonly === 'yes' && appendfsync === 'always')
      return { class: 'synced', how: 'Redis appendonly yes, appendfsync always: every write fsynced' };
    if (appendonly === 'yes')
      return {
        class: 'unsynced',
        how: `Redis appendonly yes, appendfsync ${appendfsync}: a power loss or a crash of Redis may lose the last second`,
      };
    return save.trim() === ''
      ? { class: 'unsynced', how: 'Redis keeps nothing on disk here (appendonly no, no save points): a restart of Redis loses every job' }
      : { class: 'unsynced', how: `Redis snapshots only (save ${save}): a crash of Redis loses what came after the last one` };
  } finally {
    await client.quit().catch(() => undefined);
  }
};

/** BullMQ on Redis with its defaults (completed jobs are kept, as by default). */
const open = async (where: RedisAddress, { runId, concurrency }: OpenOptions): Promise<SystemUnderTest> => {
  const name = queueOf(runId);
  const producerConnection = await connect(where);
  const queue = new Queue<BenchJob>(name, { connection: producerConnection });
  await queue.waitUntilReady();
  let worker: Worker<BenchJob> | undefined;
  let workerConnection: Awaited<ReturnType<typeof connect>> | undefined;
  return {
    enqueueBatch: async (jobs) => {
      await queue.addBulk(jobs.map((data) => ({ name: 'noop', data })));
    },
    enqueueOne: async (job) => {
      await queue.add('noop', job);
    },
    startWorker: async (hooks) => {
      workerConnection = await connect(where);
      worker = new Worker<BenchJob>(
        name,
        async (job) => {
          hooks.onStart(job.data);
        },
        { connection: workerConnection, concurrency },
      );
      worker.on('completed', () => hooks.onCompleted());
      await worker.waitUntilReady();
    },
    close: async () => {
      await worker?.close();
      await queue.obliterate({ force: true });
      await queue.close();
      await producerConnection.quit().catch(() => undefined);
      await workerConnection?.quit().catch(() => undefined);
    },
  };
};

const cleanup = async (where: RedisAddress, runId: string): Promise<void> => {
  const connection = await connect(where);
  const queue = new Queue(queueOf(runId), { connection });
  try {
    await queue.obliterate({ force: true });
  } finally {
    await queue.close();
    await connection.quit().catch(() => undefined);
  }
};

export const bullmq: SystemDefinition = {
  name: SystemNames.bullmq,
  label: 'BullMQ',
  needs: ['redis'],
  // What this machine's Redis does; the run reads the actual configuration (probeDurability).
  durability: { class: 'unsynced', how: 'Redis as configured (not read yet)' },
  probeDurability: () => probeRedis(serviceUrls.redis),
  open: (options) => open(serviceUrls.redis, options),
  cleanup: (runId) => cleanup(serviceUrls.redis, runId),
};

/** Issue 24: BullMQ on a Redis that syncs every write (appendonly yes, appendfsync always), which the bench starts. */
export const bullmqAof: SystemDefinition = {
  name: SystemNames.bullmqAof,
  label: 'BullMQ AOF always',
  needs: ['redisAof'],
  durability: { class: 'synced', how: 'Redis appendonly yes, appendfsync always: every write fsynced' },
  probeDurability: () => probeRedis(redisAofAddress()),
  open: (options) => open(redisAofAddress(), options),
  cleanup: (runId) => cleanup(redisAofAddress(), runId),
};
