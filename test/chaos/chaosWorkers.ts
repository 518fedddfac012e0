// The chaos test's worker, loaded by its `jobtrail run` processes.
import { setTimeout as sleep } from 'node:timers/promises';
import * as t from 'io-ts';
import { defineWorker } from '../../src/index.js';

export const ChaosPayload = t.type({ ms: t.number, failFirst: t.boolean, failAlways: t.boolean });

/** Sleeps `ms`; fails attempt 1 when `failFirst`; fails every attempt when `failAlways`. */
export const makeChaosWorker = (queue: string) =>
  defineWorker({
    name: 'chaos',
    queue,
    payload: ChaosPayload,
    maxAttempts: 3,
    concurrency: 25,
    // Over a second: retries wait in RabbitMQ's delay queues (shorter waits are the router's, in-process).
    retryDelay: (attempt) => 1_000 + 100 * attempt,
    action: async (p, ctx) => {
      if (p.ms > 0) await sleep(p.ms, undefined, { signal: ctx.signal });
      if (p.failAlways) throw new Error(`designed to fail (attempt ${ctx.attempt})`);
      if (p.failFirst && ctx.attempt === 1) throw new Error('designed to fail the first attempt');
      return { attempt: ctx.attempt };
    },
  });

export const chaos = makeChaosWorker(process.env.JOBTRAIL_TEST_QUEUE ?? 'chaos');
