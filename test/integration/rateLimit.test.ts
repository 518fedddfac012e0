// Rate limits (docs/rate-limits.md), two engines in one process on one store (each with its own in-process
// broker, so each dispatches every job: the duplicates meet at the limit too). Starts in any window never exceed the
// limit, every job completes, every start holds a permit its own process recorded, and an unlimited worker writes
// nothing for limits. Store-independent: a SQLite file, or the EventStoreDB ESDB_URL names (the fake node with
// `node --import tsx test/support/runAgainstFakeEsdb.ts 'integration/rateLimit'`); names are unique per run there.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, type Engine } from '../../src/engine.js';
import { makeStore } from '../../src/backends/index.js';
import { defineWorker } from '../../src/worker/index.js';
import { defaultGuardMs } from '../../src/conductor/rateGate.js';
import { maxInWindow, startsAndCompletions } from '../support/rateWindows.js';
import { esdbUrl, readyTestStore, testStoreLabel, testStoreUrl } from '../support/testStore.js';

const test = suite(`rate limits: two engines on one store (${testStoreLabel})`);
test.before(readyTestStore);
/** Worker and queue names of this run: a shared EventStoreDB keeps the permit streams of earlier runs. */
const tag = randomUUID().slice(0, 8);
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-ratelimit-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const quick = (name: string, extra: Parameters<typeof defineWorker>[0] extends infer O ? Partial<O> : never = {}) =>
  defineWorker({ name, action: async () => 'ok', retryDelay: () => 10, ...extra });

const engines = async (url: string, workers: Parameters<typeof createEngine>[0] & object) => {
  const made: Engine[] = [];
  for (let i = 0; i < 2; i++)
    made.push(await createEngine({ store: url, broker: 'memory', recover: false, rememberBroker: false, ...workers }));
  return made;
};

const grantsOf = async (url: string, prefix: string) => {
  const store = await makeStore(url);
  try {
    const r = await store.readAll({ streamPrefix: prefix })();
    if (E.isLeft(r)) throw new Error(r.left.message);
    return r.right;
  } finally {
    await store.close();
  }
};

test('a worker limit holds across two engines: starts in any window ≤ max, all complete, each start under its own permit', async () => {
  const url = testStoreUrl(dir, 'worker.db');
  const limit = { max: 5, perMs: 400 };
  const limited = quick(`limited-${tag}`, { rateLimit: limit });
  const [a, b] = await engines(url, { workers: [limited] });
  const producer = await createEngine({ store: url, broker: 'memory', recover: false, rememberBroker: false, workers: [limited] });
  try {
    await a!.start();
    await b!.start();
    // From before the enqueue: the engines start jobs while it goes on (slowly, on EventStoreDB).
    const started = Date.now();
    const ids = (await producer.enqueueMany(Array.from({ length: 40 }, (_, i) => ({ worker: limited, payload: { i } })))).map(
      (j) => j.jobId,
    );
    const views = await producer.waitForFinal(ids, { timeoutMs: 30_000 });
    const tookMs = Date.now() - started;
    assert.ok(
      views.every((v) => v.status === 'completed' && v.attempts === 1),
      'every job completed at its first attempt',
    );
    const { starts, completions } = await startsAndCompletions(producer, ids);
    assert.is(starts.length, 40);
    const worstStarts = maxInWindow(
      starts.map((s) => s.atMs),
      limit.perMs,
    );
    assert.ok(worstStarts <= limit.max, `starts in any window within the limit: ${worstStarts}`);
    const worst = maxInWindow(completions, limit.perMs);
    assert.ok(worst <= limit.max + 1, `completions in any window within the limit, plus one: ${worst}`);
    // 40 jobs at 5 per 400 ms take at least 7 full windows after the first grant.
    assert.ok(tookMs >= 7 * limit.perMs, `took ${tookMs} ms`);
    // The permits are the record of who started what: every start after the oldest kept grant has one, by its process.
    const grants = (await grantsOf(url, `ratelimit-worker-${limited.name}`)).map(
      (e) => e.data as { by: string; at: string; attempts: { jobId: string; attempt: number }[] },
    );
    assert.ok(grants.length > 0);
    const oldest = Math.min(...grants.map((g) => Date.parse(g.at)));
    for (const s of starts.filter((x) => x.atMs >= oldest + 1)) {
      // The newest grant naming it before its start (an older one may have gone stale before it could start).
      const g = [...grants]
        .reverse()
        // A timer may fire up to 1 ms early (as `late` below allows).
        .find((x) => Date.parse(x.at) <= s.atMs + 1 && x.attempts.some((t) => t.jobId === s.jobId && t.attempt === s.attempt));
      assert.ok(g, `a permit for ${s.jobId}/${s.attempt}`);
      assert.is(g.by, s.workerId, `${s.jobId} started by the process holding its permit`);
      const slot = Date.parse(g.at) + g.attempts.findIndex((t) => t.jobId === s.jobId) * (limit.perMs / limit.max);
      const late = s.atMs - slot;
      // The gate checks the guard a few event-loop turns before `startedAt` is taken: on EventStoreDB, whose client
      // keeps the loop busier, that has been 1 ms past it (docs/rate-limits.md#on-eventstoredb).
      const slack = esdbUrl === undefined ? 0 : 5;
      assert.ok(late >= -1 && late <= defaultGuardMs(limit) + slack, `${s.jobId} started ${late} ms after its slot`);
    }
  } finally {
    // One at a time: @eventstore/db-client 6 fails the appends of every client in the process when one is closed
    // (docs/rate-limits.md#on-eventstoredb).
    for (const e of [a!, b!, producer]) await e.close();
  }
});

test('a queue limit counts the jobs of every worker on the queue; an unlimited worker writes nothing for limits', async () => {
  const url = testStoreUrl(dir, 'queue.db');
  const limit = { max: 3, perMs: 300 };
  const q = `q-${tag}`;
  const one = quick(`one-${tag}`, { queue: q });
  const two = quick(`two-${tag}`, { queue: q });
  const free = quick(`free-${tag}`, { queue: `free-${tag}` });
  const [a, b] = await engines(url, { workers: [one, two, free], queues: { [q]: { rateLimit: limit } } });
  try {
    await a!.start();
    await b!.start();
    const unlimited = (await a!.enqueueMany(Array.from({ length: 20 }, (_, i) => ({ worker: free, payload: { i } })))).map((j) => j.jobId);
    await a!.waitForFinal(unlimited, { timeoutMs: 10_000 });
    // The whole store on SQLite (a file of its own); a shared EventStoreDB holds other runs' limits.
    assert.equal(
      await grantsOf(url, esdbUrl === undefined ? 'ratelimit-' : `ratelimit-worker-${free.name}`),
      [],
      'no stream, no read, no append for an unlimited worker',
    );
    assert.equal(await grantsOf(url, `ratelimit-queue-free-${tag}`), []);
    const ids = (await a!.enqueueMany(Array.from({ length: 18 }, (_, i) => ({ worker: i % 2 === 0 ? one : two, payload: { i } })))).map(
      (j) => j.jobId,
    );
    const views = await a!.waitForFinal(ids, { timeoutMs: 30_000 });
    assert.ok(views.every((v) => v.status === 'completed'));
    const { starts } = await startsAndCompletions(a!, ids);
    assert.ok(
      maxInWindow(
        starts.map((s) => s.atMs),
        limit.perMs,
      ) <= limit.max,
      'both workers together within the queue limit',
    );
    assert.ok((await grantsOf(url, `ratelimit-queue-${q}`)).length > 0);
  } finally {
    for (const e of [a!, b!]) await e.close();
  }
});

test('deliveries that cannot have a permit within the wait are deferred, not lost, and a bad queues option is refused', async () => {
  const url = testStoreUrl(dir, 'defer.db');
  // 30 waiting at 2 per 300 ms: most cannot have a permit within the 5 s wait, so they are published again for later.
  const limited = quick(`slow-rate-${tag}`, { rateLimit: { max: 2, perMs: 300 }, concurrency: 30 });
  const engine = await createEngine({ store: url, broker: 'memory', rememberBroker: false, workers: [limited] });
  try {
    await engine.start();
    const ids = (await engine.enqueueMany(Array.from({ length: 30 }, (_, i) => ({ worker: limited, payload: { i } })))).map((j) => j.jobId);
    const views = await engine.waitForFinal(ids, { timeoutMs: 30_000 });
    assert.ok(views.every((v) => v.status === 'completed' && v.attempts === 1));
    const { starts } = await startsAndCompletions(engine, ids);
    assert.ok(
      maxInWindow(
        starts.map((s) => s.atMs),
        300,
      ) <= 2,
    );
  } finally {
    await engine.close();
  }
  try {
    await createEngine({ store: 'sqlite::memory:', queues: { q: { rateLimit: { max: 0, perMs: 1000 } } } });
    assert.unreachable('accepted');
  } catch (error) {
    assert.match((error as Error).message, 'queues.q.rateLimit.max must be a whole number ≥ 1, got 0');
  }
});

test.run();
