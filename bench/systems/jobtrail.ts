import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as amqp from 'amqplib';
import { createEngine, defineWorker, type Engine } from '../../src/index.js';
import { makeEmbeddedStore } from '../../src/backends/index.js';
import { makeMemoryBroker, makeRabbitBroker, workQueueName, type Broker } from '../../src/broker/index.js';
import { completionHook, countingBroker, countingStore, type Counts } from '../support/counting.js';
import { serviceUrls } from '../support/services.js';
import {
  SystemNames,
  type BenchJob,
  type OpenOptions,
  type SystemDefinition,
  type SystemUnderTest,
  type WorkerHooks,
} from '../support/system.js';

const workerName = 'bench-noop';
const dirOf = (runId: string) => join(tmpdir(), `jobtrail-bench-${runId}`);
/** The named queue of the run: the work queue is `jobtrail.work.bench-<runId>`. */
const queueOf = (runId: string) => `bench-${runId}`;

/**
 * One engine per run that both enqueues and works, as an embedded
 * application does (the in-process broker only reaches its own process).
 * The store is a SQLite file (the embedded default), never `:memory:`.
 * `recover: false`: recovery at `start` would dispatch the backlog a second
 * time in the very process that just dispatched it; `acceptCommands: false`
 * and no delay router, so that the run touches no queue but its own.
 */
const openJobtrail = async (
  mode: 'embedded' | 'rabbitmq',
  synchronous: 'full' | 'normal',
  { runId, concurrency }: OpenOptions,
): Promise<SystemUnderTest> => {
  const dir = dirOf(runId);
  mkdirSync(dir, { recursive: true });
  const counts: Counts = {};
  let hooks: WorkerHooks | undefined;
  // What-if of the profile (bench/profile.ts), never set by `npm run bench`: another SQLite durability level.
  const whatIfSync = process.env['BENCH_WHATIF_SYNC']?.toLowerCase() === 'normal' ? 'normal' : undefined;
  const rawStore = makeEmbeddedStore({ path: join(dir, 'events.db'), synchronous: whatIfSync ?? synchronous });
  // Counting every call costs a few per cent: only the profile (bench/profile.ts) asks for it.
  const counting = process.env['BENCH_COUNT'] === '1';
  const readSide = process.env['BENCH_READ_SIDE'] === '1';
  const store = completionHook(counting ? countingStore(rawStore, counts) : rawStore, () => hooks?.onCompleted());
  let rawBroker: Broker;
  try {
    rawBroker =
      mode === 'embedded'
        ? makeMemoryBroker()
        : await makeRabbitBroker({
            url: serviceUrls.rabbitmq,
            delayRouter: false,
            onWarning: (m) => console.error(`[jobtrail broker] ${m}`),
          });
  } catch (error) {
    await rawStore.close();
    throw error;
  }
  const broker = counting ? countingBroker(rawBroker, counts) : rawBroker;
  const worker = defineWorker<BenchJob>({
    name: workerName,
    queue: queueOf(runId),
    concurrency,
    action: async (job) => {
      hooks?.onStart(job);
      return undefined;
    },
  });
  const engine: Engine = await createEngine({ store, broker, workers: [worker], recover: false, acceptCommands: false });
  return {
    enqueueBatch: async (jobs) => {
      await engine.enqueueMany(jobs.map((job) => ({ workerName, payload: job })));
    },
    enqueueOne: async (job) => {
      await engine.enqueue(workerName, job);
    },
    startWorker: async (h) => {
      hooks = h;
      await engine.start();
      // A worker that runs longer than this section's seconds also folds the projections (its sweeper opens the read
      // side after 15 s; the dashboard at once): BENCH_READ_SIDE=1 opens it at the start, to measure that steady state.
      if (readSide) await engine.listJobs({ limit: 1 });
    },
    ...(counting ? { counters: () => ({ ...counts }) } : {}),
    close: async () => {
      await engine.close({ gracePeriodMs: 5_000 });
      await rawBroker.close();
      await rawStore.close();
      await cleanup(mode, runId);
    },
  };
};

const cleanup = async (mode: 'embedded' | 'rabbitmq', runId: string): Promise<void> => {
  rmSync(dirOf(runId), { recursive: true, force: true });
  if (mode !== 'rabbitmq') return;
  const connection = await amqp.connect(serviceUrls.rabbitmq);
  try {
    for (const queue of [workQueueName(queueOf(runId)), `${workQueueName(queueOf(runId))}.dead`]) {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteQueue(queue).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await connection.close();
  }
};

export const jobtrailEmbedded: SystemDefinition = {
  name: SystemNames.jobtrailEmbedded,
  label: 'jobtrail embedded',
  needs: [],
  durability: { class: 'synced', how: 'SQLite synchronous=full: every commit fsynced before the enqueue resolves' },
  open: (options) => openJobtrail('embedded', 'full', options),
  cleanup: (runId) => cleanup('embedded', runId),
};

/** The embedded mode at `synchronous=normal` (issue 24): its peers are the systems that do not sync every commit. */
export const jobtrailEmbeddedNormal: SystemDefinition = {
  name: SystemNames.jobtrailEmbeddedNormal,
  label: 'jobtrail embedded normal',
  needs: [],
  durability: {
    class: 'unsynced',
    how: 'SQLite synchronous=normal (WAL): survives a crash of the process; a power loss may lose the last commits',
  },
  open: (options) => openJobtrail('embedded', 'normal', options),
  cleanup: (runId) => cleanup('embedded', runId),
};

export const jobtrailRabbit: SystemDefinition = {
  name: SystemNames.jobtrailRabbit,
  label: 'jobtrail RabbitMQ',
  needs: ['rabbitmq'],
  durability: {
    class: 'synced',
    how: 'SQLite synchronous=full, quorum queues with publisher confirms (fsynced before the confirm)',
  },
  open: (options) => openJobtrail('rabbitmq', 'full', options),
  cleanup: (runId) => cleanup('rabbitmq', runId),
};
