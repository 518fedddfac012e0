import { EventEmitter } from 'node:events';
import pg from 'pg';
import { Logger, makeWorkerUtils, run, type Runner, type WorkerEvents, type WorkerUtils } from 'graphile-worker';
import { sleep } from '../support/clock.js';
import { serviceUrls } from '../support/services.js';
import {
  SystemNames,
  type BenchJob,
  type Durability,
  type OpenOptions,
  type SystemDefinition,
  type SystemUnderTest,
} from '../support/system.js';

const schemaOf = (runId: string) => `bench_gw_${runId.replaceAll('-', '_')}`;
const silent = new Logger(() => () => undefined);

/**
 * Graphile Worker's batched configuration, as its performance page runs it:
 * a local queue of 500 jobs fetched (and locked) at once, completions and
 * failures batched with no added delay. The pool size stays at its default.
 */
const batchedPreset = {
  worker: {
    localQueue: { size: 500 },
    completeJobBatchDelay: 0,
    failJobBatchDelay: 0,
  },
};

const open = async (batched: boolean, { runId, concurrency }: OpenOptions): Promise<SystemUnderTest> => {
  const schema = schemaOf(runId);
  const utils: WorkerUtils = await makeWorkerUtils({ connectionString: serviceUrls.postgres, schema, logger: silent });
  await utils.migrate();
  let runner: Runner | undefined;
  return {
    enqueueBatch: async (jobs) => {
      await utils.addJobs(jobs.map((job) => ({ identifier: 'noop', payload: job })));
    },
    enqueueOne: async (job) => {
      await utils.addJob('noop', job);
    },
    startWorker: async (hooks) => {
      const events: WorkerEvents = new EventEmitter();
      events.on('job:complete', ({ error }) => {
        if (error === undefined || error === null) hooks.onCompleted();
      });
      runner = await run({
        connectionString: serviceUrls.postgres,
        schema,
        concurrency,
        noHandleSignals: true,
        logger: silent,
        events,
        crontab: '',
        taskList: {
          noop: async (payload) => {
            hooks.onStart(payload as BenchJob);
          },
        },
        ...(batched ? { preset: batchedPreset } : {}),
      });
    },
    // 'job:complete' is emitted before the completion is committed (and, batched, before it is even sent):
    // the last job is done when the table is empty.
    settle: async () => {
      const client = new pg.Client({ connectionString: serviceUrls.postgres });
      await client.connect();
      try {
        for (;;) {
          const r = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${client.escapeIdentifier(schema)}._private_jobs`);
          if (Number(r.rows[0]?.n ?? 0) === 0) return;
          await sleep(2);
        }
      } finally {
        await client.end();
      }
    },
    close: async () => {
      await runner?.stop().catch(() => undefined);
      await utils.release();
      await cleanup(runId);
    },
  };
};

const cleanup = async (runId: string): Promise<void> => {
  const client = new pg.Client({ connectionString: serviceUrls.postgres });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schemaOf(runId))} CASCADE`);
  } finally {
    await client.end();
  }
};

/** Issue 24: whether PostgreSQL syncs each commit (fsync on, synchronous_commit not off), as configured here. */
const probePostgres = async (): Promise<Durability> => {
  const client = new pg.Client({ connectionString: serviceUrls.postgres });
  await client.connect();
  try {
    const show = async (name: string) => ((await client.query(`SHOW ${name}`)).rows[0] as Record<string, string>)[name] ?? '';
    const [fsync, synchronousCommit] = [await show('fsync'), await show('synchronous_commit')];
    return fsync === 'on' && synchronousCommit !== 'off'
      ? { class: 'synced', how: `PostgreSQL fsync=on, synchronous_commit=${synchronousCommit}: every commit fsynced` }
      : { class: 'unsynced', how: `PostgreSQL fsync=${fsync}, synchronous_commit=${synchronousCommit}: commits not synced at once` };
  } finally {
    await client.end();
  }
};

const postgresDurability: Durability = { class: 'synced', how: 'PostgreSQL as configured (not read yet)' };

export const graphileDefault: SystemDefinition = {
  name: SystemNames.graphileDefault,
  label: 'Graphile default',
  needs: ['postgres'],
  durability: postgresDurability,
  probeDurability: probePostgres,
  open: (options) => open(false, options),
  cleanup,
};

export const graphileBatched: SystemDefinition = {
  name: SystemNames.graphileBatched,
  label: 'Graphile batched',
  needs: ['postgres'],
  durability: postgresDurability,
  probeDurability: probePostgres,
  open: (options) => open(true, options),
  cleanup,
};
