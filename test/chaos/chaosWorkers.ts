// The chaos test's workers, loaded by its `jobtrail run` processes.
import { setTimeout as sleep } from 'node:timers/promises';
import * as t from 'io-ts';
import { defineWorker, NonRetryableError } from '../../src/index.js';

export const ChaosPayload = t.intersection([
  t.type({ ms: t.number, failFirst: t.boolean, failAlways: t.boolean }),
  t.partial({ fatal: t.boolean }),
]);
export type ChaosJob = t.TypeOf<typeof ChaosPayload>;

/**
 * Sleeps `ms`; fails attempt 1 when `failFirst`; fails every attempt when `failAlways` (it exhausts its
 * attempts); throws `NonRetryableError` when `fatal` (it fails for good at once).
 */
export const makeChaosWorker = (queue: string, name = 'chaos') =>
  defineWorker({
    name,
    queue,
    payload: ChaosPayload,
    maxAttempts: 3,
    concurrency: 25,
    // Over a second: retries wait in RabbitMQ's delay queues (shorter waits are the router's, in-process).
    retryDelay: (attempt) => 1_000 + 100 * attempt,
    action: async (p, ctx) => {
      if (p.ms > 0) await sleep(p.ms, undefined, { signal: ctx.signal });
      if (p.fatal) throw new NonRetryableError(`designed to fail for good (attempt ${ctx.attempt})`);
      if (p.failAlways) throw new Error(`designed to fail (attempt ${ctx.attempt})`);
      if (p.failFirst && ctx.attempt === 1) throw new Error('designed to fail the first attempt');
      return { attempt: ctx.attempt };
    },
  });

const queue = process.env.JOBTRAIL_TEST_QUEUE ?? 'chaos';
export const chaos = makeChaosWorker(queue);
/** The continuations' own queue: a released child runs at once, not behind the backlog of the main queue. */
export const chaosNext = makeChaosWorker(`${queue}-next`, 'chaos-next');
