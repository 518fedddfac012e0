import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import type { EventStore } from '../../src/eventStore/index.js';
import { makeEmbeddedStore, type StoreBackend } from '../../src/backends/index.js';
import { createEngine } from '../../src/engine.js';
import { replay } from '../../src/job/index.js';
import { defineWorker } from '../../src/worker/index.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('the store unavailable: nothing is acked that was not recorded; work resumes when it is back');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-unavailable-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('appends refused while another connection holds the write lock are retried; every job completes once', async () => {
  const path = join(dir, 'events.db');
  const embedded = makeEmbeddedStore({ path, busyTimeoutMs: 20 });
  let refused = 0;
  // The same store, counting the appends it refused as unavailable.
  const store: StoreBackend = Object.assign(Object.create(embedded) as StoreBackend, {
    append:
      (...args: Parameters<EventStore['append']>) =>
      async () => {
        const r = await embedded.append(...args)();
        if (E.isLeft(r) && r.left._tag === 'StoreUnavailable') refused++;
        return r;
      },
  });
  let ran = 0;
  const worker = defineWorker({
    name: 'steady',
    concurrency: 5,
    action: async () => {
      ran++;
      await new Promise((r) => setTimeout(r, 30));
    },
  });
  const engine = await createEngine({ store, broker: 'memory', workers: [worker] });
  const locker = new Database(path);
  try {
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await engine.enqueue('steady', { i }, { jobId: `steady-${i}` })).jobId);
    await engine.start();
    await waitFor(async () => (await engine.getJob('steady-0'))?.status === 'completed', 10_000, 'the first job to complete');

    locker.exec('BEGIN EXCLUSIVE');
    try {
      await waitFor(() => refused >= 5, 10_000, 'appends refused while the store is locked');
      try {
        await engine.enqueue('steady', {}, { jobId: 'during-the-outage' });
        assert.unreachable('an enqueue while the store is locked must be refused');
      } catch (error) {
        assert.is((error as { reason?: string }).reason, 'StoreUnavailable');
        assert.match((error as Error).message, /try again/);
      }
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      locker.exec('COMMIT');
    }
    assert.equal(await engine.history('during-the-outage'), [], 'the refused enqueue recorded nothing');
    ids.push((await engine.enqueue('steady', {}, { jobId: 'during-the-outage' })).jobId);

    const views = await engine.waitForFinal(ids, { timeoutMs: 30_000 });
    assert.ok(views.every((v) => v.status === 'completed'));
    for (const id of ids) {
      const events = (await engine.history(id)).map((e) => e.event);
      const r = replay(events);
      assert.ok(E.isRight(r), E.isLeft(r) ? `${id}: ${r.left.message}` : '');
      assert.is(events.filter((e) => e.type === 'JobCompleted').length, 1, `${id} completed once`);
      assert.is(events.filter((e) => e.type === 'JobStarted').length, 1, `${id} started once: a refused start was not run`);
    }
    assert.ok(refused >= 5);
    assert.is(ran, ids.length, 'every action ran exactly once: nothing ran without its JobStarted recorded');
  } finally {
    locker.close();
    await engine.close({ gracePeriodMs: 0 });
    await embedded.close();
  }
});

test('a start the store recorded but reported unavailable: the delivery, kept and decided again, records that attempt lost (its action never ran) and the retry completes', async () => {
  const embedded = makeEmbeddedStore({ path: join(dir, 'unconfirmed.db') });
  let unconfirmed = 0;
  // The first JobStarted is written, then reported as unavailable, as a store may do with an append it could not confirm.
  const store: StoreBackend = Object.assign(Object.create(embedded) as StoreBackend, {
    append:
      (...args: Parameters<EventStore['append']>) =>
      async () => {
        const r = await embedded.append(...args)();
        if (E.isRight(r) && unconfirmed === 0 && args[1].some((e) => e.type === 'JobStarted')) {
          unconfirmed++;
          return E.left({ _tag: 'StoreUnavailable' as const, message: 'the append was not confirmed (test)' });
        }
        return r;
      },
  });
  let ran = 0;
  const worker = defineWorker({ name: 'once', retryDelay: () => 0, action: async () => void ran++ });
  const engine = await createEngine({ store, broker: 'memory', workers: [worker] });
  try {
    const { jobId } = await engine.enqueue('once', {});
    await engine.start();
    const [view] = await engine.waitForFinal([jobId], { timeoutMs: 10_000 });
    assert.is(view?.status, 'completed');
    assert.is(unconfirmed, 1);
    const events = (await engine.history(jobId)).map((e) => e.event);
    const r = replay(events);
    assert.ok(E.isRight(r), E.isLeft(r) ? r.left.message : '');
    assert.equal(
      events.map((e) => e.type),
      ['JobEnqueued', 'JobStarted', 'JobErrored', 'JobReset', 'JobStarted', 'JobCompleted'],
    );
    assert.match(JSON.stringify(events[2]), /WorkerLost/);
    assert.is(ran, 1, 'the action ran once: the attempt whose start was not confirmed never ran it');
  } finally {
    await engine.close({ gracePeriodMs: 0 });
    await embedded.close();
  }
});

test.run();
