import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import { serviceUrls } from '../support/services.js';
import { SystemNames, type BenchJob, type OpenOptions, type SystemDefinition, type SystemUnderTest } from '../support/system.js';

const queueOf = (runId: string) => `bench-${runId}`;

type RedisConstructor = new (options: Record<string, unknown>) => ConnectionOptions & { quit(): Promise<unknown> };

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

const connect = async () => {
  const IORedis = await loadIORedis();
  // BullMQ requires maxRetriesPerRequest: null on the connections its workers block on.
  return new IORedis({ host: serviceUrls.redis.host, port: serviceUrls.redis.port, maxRetriesPerRequest: null });
};

/** BullMQ on Redis with its defaults (completed jobs are kept, as by default). */
const open = async ({ runId, concurrency }: OpenOptions): Promise<SystemUnderTest> => {
  const name = queueOf(runId);
  const producerConnection = await connect();
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
      workerConnection = await connect();
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

export const bullmq: SystemDefinition = {
  name: SystemNames.bullmq,
  label: 'BullMQ',
  needs: ['redis'],
  open,
  cleanup: async (runId) => {
    const connection = await connect();
    const queue = new Queue(queueOf(runId), { connection });
    try {
      await queue.obliterate({ force: true });
    } finally {
      await queue.close();
      await connection.quit().catch(() => undefined);
    }
  },
};
