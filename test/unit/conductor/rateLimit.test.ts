// Rate limits (docs/rate-limits.md): the sliding-window logic, and the gate over a real store with an injected clock.
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeRateGate, type RateGateDeps } from '../../../src/conductor/rateGate.js';
import { attemptKey, holderOf, nextSlotAt, slotMs, type Grant } from '../../../src/conductor/rateWindow.js';
import { makeRateLimits, validateQueueOptions } from '../../../src/conductor/rateLimits.js';
import { makeEmbeddedEventStore } from '../../../src/eventStore/embedded/embeddedEventStore.js';
import type { EventStore } from '../../../src/eventStore/index.js';
import { silentLogger } from '../../../src/log/index.js';
import { defineWorker, makeWorkerRegistry } from '../../../src/worker/index.js';
import { isJobtrailError, ErrorCodes } from '../../../src/errors/index.js';

const limit = { max: 3, perMs: 1000 };
const guard = 25;
const grant = (atMs: number, count: number, by = 'a', keys: string[] = []): Grant => ({ revision: 0, atMs, count, by, keys });

test('slots: permits are perMs / max apart, after every slot granted so far', () => {
  assert.is(slotMs(limit), 1000 / 3);
  const grants = [grant(0, 2), grant(100, 1)];
  // 0 and 333 (the first grant), then 100's slot counts from when it was booked: the next is after the latest end.
  assert.is(Math.round(nextSlotAt(grants, limit, 50)), 1000 / 3 + 100 > 666 ? Math.round(100 + 1000 / 3) : 667);
  assert.is(Math.round(nextSlotAt([grant(0, 2)], limit, 50)), 667);
  assert.is(nextSlotAt([grant(0, 2)], limit, 2000), 2000, 'idle: the next slot is now');
});

test('slots: the holder of an attempt is the newest grant in mind naming it', () => {
  const grants = [grant(0, 1, 'a', [attemptKey('x', 1)]), grant(10, 1, 'b', [attemptKey('y', 1)])];
  assert.is(holderOf(grants, 'x/1', limit, guard, 500)?.by, 'a');
  assert.is(holderOf(grants, 'x/2', limit, guard, 500), undefined);
  assert.is(holderOf(grants, 'x/1', limit, guard, 1025), undefined, 'a lapsed grant holds nothing');
});

/** A store and a clock shared by gates playing several processes. */
const setup = () => {
  const store = makeEmbeddedEventStore({ path: ':memory:' });
  let nowMs = Date.parse('2026-01-01T00:00:00Z');
  const clock = { now: () => new Date(nowMs), advance: (ms: number) => void (nowMs += ms) };
  const deps = (processId: string, s: EventStore = store): RateGateDeps => ({
    store: s,
    processId,
    now: clock.now,
    random: () => 0,
    log: silentLogger,
  });
  return { store, clock, deps };
};

const never = new AbortController().signal;

const grantsIn = async (store: EventStore, stream: string) => {
  const r = await store.readStream(stream)();
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

test('gate: the waiters of one process share one grant of spaced slots; a second process books after them', async () => {
  const { store, deps } = setup();
  const four = { max: 4, perMs: 1000 }; // slots 250 ms apart (no guard here)
  try {
    const a = makeRateGate(deps('proc-a'), 'ratelimit-worker-w', four, { guardMs: 0 });
    const b = makeRateGate(deps('proc-b'), 'ratelimit-worker-w', four, { guardMs: 0 });
    const t0 = deps('x').now().getTime();
    const [a1, a2] = await Promise.all([a.acquire('j1', 1, never, 5000), a.acquire('j2', 1, never, 5000)]);
    assert.equal(
      [a1, a2],
      [
        { _tag: 'Granted', freshUntilMs: t0 },
        { _tag: 'Granted', freshUntilMs: t0 + 250 },
      ],
    );
    const events = await grantsIn(store, 'ratelimit-worker-w');
    assert.is(events.length, 1, 'one append for both');
    assert.equal((events[0]!.data as { count: number }).count, 2);
    assert.equal((events[0]!.data as { attempts: unknown }).attempts, [
      { jobId: 'j1', attempt: 1 },
      { jobId: 'j2', attempt: 1 },
    ]);
    // B's first slot is the third (t0 + 500): past a 400 ms wait it comes back later; within 1000 ms it is booked.
    const b1 = await b.acquire('j3', 1, never, 400);
    assert.ok(b1._tag === 'Later' && b1.delayMs >= 500 && b1.delayMs <= 600, JSON.stringify(b1));
    assert.equal(await b.acquire('j3', 1, never, 1000), { _tag: 'Granted', freshUntilMs: t0 + 500 });
    // A does not know of B's grant: its append conflicts, it reads B's, and books the slot after it (t0 + 750).
    assert.equal(await a.acquire('j5', 1, never, 5000), { _tag: 'Granted', freshUntilMs: t0 + 750 });
    assert.ok(a.stats().conflicts >= 1, 'A learnt of B by a conflict');
    const ats = (await grantsIn(store, 'ratelimit-worker-w')).map((e) => Date.parse((e.data as { at: string }).at) - t0);
    assert.equal(ats, [0, 500, 750]);
  } finally {
    await store.close();
  }
});

test('gate: an attempt whose permit another process holds is Held (a duplicate dispatch), until that permit lapses', async () => {
  const { store, clock, deps } = setup();
  try {
    const a = makeRateGate(deps('proc-a'), 'ratelimit-worker-w', limit, { guardMs: guard });
    const b = makeRateGate(deps('proc-b'), 'ratelimit-worker-w', limit, { guardMs: guard });
    assert.is((await a.acquire('x', 1, never, 1000))._tag, 'Granted');
    const held = await b.acquire('x', 1, never, 1000);
    assert.equal(held, { _tag: 'Held', by: 'proc-a' });
    // Process A died before it started x: its permit lapses with the window, and B may take x then.
    clock.advance(limit.perMs + 3 * guard);
    assert.is((await b.acquire('x', 1, never, 1000))._tag, 'Granted');
    // The same attempt asking again in this process within the guard reuses its permit (no second grant).
    assert.is((await b.acquire('x', 1, never, 1000))._tag, 'Granted');
    assert.is((await grantsIn(store, 'ratelimit-worker-w')).length, 2);
  } finally {
    await store.close();
  }
});

test('gate: a waiter whose permit frees within its wait gets its slot when it comes; a cancelled one is Cancelled', async () => {
  const { store, deps } = setup();
  // A real clock here: the gate sleeps until the slots come.
  const real = { ...deps('proc-a'), now: () => new Date() };
  const small = { max: 2, perMs: 150 };
  try {
    const a = makeRateGate(real, 'ratelimit-queue-q', small, { guardMs: guard });
    const started = Date.now();
    const outcomes = await Promise.all([0, 1, 2, 3].map((i) => a.acquire(`j${i}`, 1, never, 5000)));
    assert.equal(
      outcomes.map((o) => o._tag),
      ['Granted', 'Granted', 'Granted', 'Granted'],
    );
    // Four slots 75 ms apart: the last one is 225 ms after the first, whatever the grants that booked them.
    assert.ok(Date.now() - started >= 3 * 75 - 2, `took ${Date.now() - started} ms`);
    const slots = (await grantsIn(store, 'ratelimit-queue-q'))
      .flatMap((e) => {
        const g = e.data as { at: string; count: number };
        return Array.from({ length: g.count }, (_, i) => Date.parse(g.at) + i * 75);
      })
      .sort((x, y) => x - y);
    assert.is(slots.length, 4);
    for (let i = 1; i < slots.length; i++) assert.ok(slots[i]! - slots[i - 1]! >= 75, `slots ${slots.join(', ')}`);
    const cancel = new AbortController();
    const waiting = a.acquire('late', 1, cancel.signal, 5000);
    cancel.abort();
    assert.equal(await waiting, { _tag: 'Cancelled' });
  } finally {
    await store.close();
  }
});

test('gate: the stream stays bounded (old grants are trimmed), and a closed store is Unavailable', async () => {
  const { store, clock, deps } = setup();
  const a = makeRateGate(deps('proc-a'), 'ratelimit-worker-w', { max: 1, perMs: 10 }, { keepLast: 4 });
  for (let i = 0; i < 30; i++) {
    assert.is((await a.acquire(`j${i}`, 1, never, 0))._tag, 'Granted', `grant ${i}`);
    clock.advance(100);
  }
  // Trimming runs in the background after every 4th append: wait for the last one.
  await new Promise((resolve) => setImmediate(resolve));
  const kept = await grantsIn(store, 'ratelimit-worker-w');
  assert.ok(kept.length <= 8 && kept.length >= 4, `kept ${kept.length} of 30`);
  assert.is(kept.at(-1)!.revision, 29, 'the newest grants stay, with their revisions');
  // A new process reads what is left and goes on at the right revision.
  const b = makeRateGate(deps('proc-b'), 'ratelimit-worker-w', { max: 1, perMs: 10 });
  assert.is((await b.acquire('next', 1, never, 0))._tag, 'Granted');
  assert.is(b.stats().conflicts, 0);
  await store.close();
  const c = await makeRateGate(deps('proc-c'), 'ratelimit-worker-w', limit).acquire('z', 1, never, 0);
  assert.is(c._tag, 'Unavailable');
});

test('limits: none declared costs nothing (no gates at all); worker and queue limits both apply, in that order', () => {
  const { store, deps } = setup();
  const plain = defineWorker({ name: 'plain', action: async () => undefined });
  const limited = defineWorker({ name: 'limited', queue: 'q', rateLimit: { max: 5, perMs: 1000 }, action: async () => undefined });
  assert.is(makeRateLimits(deps('p'), makeWorkerRegistry([plain]), undefined), undefined);
  assert.is(makeRateLimits(deps('p'), makeWorkerRegistry([plain]), { other: {} }), undefined);
  const limits = makeRateLimits(deps('p'), makeWorkerRegistry([plain, limited]), { q: { rateLimit: { max: 2, perMs: 100 } } })!;
  assert.equal(limits.gatesFor('plain', 'default'), []);
  assert.equal(
    limits.gatesFor('limited', 'q').map((g) => g.stream),
    ['ratelimit-worker-limited', 'ratelimit-queue-q'],
  );
  assert.equal(
    limits.gatesFor('plain', 'q').map((g) => g.stream),
    ['ratelimit-queue-q'],
  );
  void store.close();
});

test('validation: a rate limit must be whole numbers ≥ 1, with a clear error', () => {
  const bad = defineWorker({ name: 'bad', rateLimit: { max: 0, perMs: 1.5 }, action: async () => undefined });
  try {
    makeWorkerRegistry([bad]);
    assert.unreachable('accepted');
  } catch (error) {
    assert.ok(isJobtrailError(error, ErrorCodes.InvalidWorker), String(error));
    assert.match((error as Error).message, 'rateLimit.max must be a whole number ≥ 1, got 0');
    assert.match((error as Error).message, 'rateLimit.perMs must be a whole number of milliseconds ≥ 1, got 1.5');
  }
  assert.throws(
    () => validateQueueOptions({ q: { rateLimit: { max: 10 } } }),
    (e: Error) => isJobtrailError(e, ErrorCodes.InvalidConfig) && /queues\.q\.rateLimit\.perMs must be a whole number/.test(e.message),
  );
  validateQueueOptions({ q: { rateLimit: { max: 10, perMs: 1000 } }, r: {} });
});

test.run();
