// Recurring jobs with two processes sharing one SQLite file (embedded mode, each with its own in-process broker):
// both fire every tick, and the job stream's no_stream append lets exactly one create each run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as E from 'fp-ts/lib/Either.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore } from '../../src/backends/index.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { decodeScheduleEvent, parseCron, scheduleStreamName, ticksBetween } from '../../src/schedules/index.js';
import { defineWorker } from '../../src/worker/index.js';

const test = suite('schedules: two engines on one SQLite file');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-schedules-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const quick = defineWorker({ name: 'tick', action: async (p: unknown) => p });
const slow = defineWorker({ name: 'slow-tick', action: () => sleep(2_500).then(() => 'done') });

/** The job ids of every job stream whose id starts with `<scheduleId>@`, read from the store itself. */
/** uvu has no `rejects`: the promise must reject with a message matching `pattern`. */
const rejects = async (f: () => Promise<unknown>, pattern: RegExp): Promise<void> => {
  try {
    await f();
  } catch (error) {
    assert.match((error as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected a rejection matching ${pattern}`);
};

const runIdsOf = async (url: string, scheduleId: string): Promise<string[]> => {
  const store = await makeStore(url);
  try {
    const r = await store.readAll({ streamPrefix: `job-${scheduleId}@` })();
    if (E.isLeft(r)) throw new Error(r.left.message);
    return [...new Set(r.right.filter((e) => e.type === 'JobEnqueued').map((e) => e.streamId.slice('job-'.length)))].sort();
  } finally {
    await store.close();
  }
};

const startTwo = async (url: string): Promise<[Engine, Engine]> => {
  const a = await createEngine({ store: url, workers: [quick, slow] });
  const b = await createEngine({ store: url, workers: [quick, slow] });
  await a.start();
  await b.start();
  return [a, b];
};

test('every second for ~10 s: exactly one job per tick, none missing, all completed', async () => {
  const url = `sqlite:${join(dir, 'every-second.db')}`;
  const [a, b] = await startTwo(url);
  let engines = [a, b];
  const extra: Engine[] = [];
  try {
    const set = await a.upsertSchedule('every-second', { cron: '* * * * * *', workerName: 'tick', payload: { hello: 'world' } });
    assert.ok(set.changed);
    const from = new Date(set.schedule.setAt);
    await sleep(10_500);
    await Promise.all(engines.map((e) => e.stop()));
    const to = new Date();
    const expected = ticksBetween(parseCron('* * * * * *', 'UTC'), from, to, 1000).map((t) => `every-second@${t.toISOString()}`);
    const runs = await runIdsOf(url, 'every-second');
    console.log(`  two engines, every second: ${expected.length} ticks, ${runs.length} jobs`);
    assert.ok(expected.length >= 9, `${expected.length} ticks`);
    // A tick in the last moment before stop may or may not have been fired; every other one must be there, once.
    const missing = expected.slice(0, -1).filter((id) => !runs.includes(id));
    assert.equal(missing, [], 'no tick is missing');
    assert.equal(
      runs.filter((id) => !expected.includes(id)),
      [],
      'no job off the ticks',
    );
    const final = await a.waitForFinal(runs, { timeoutMs: 20_000 }).catch(async () => {
      // The runs a stop cut short (in-process deliveries go with their engine) finish once an engine
      // runs again: one that does not fire schedules, so the last run stays among `runs`.
      const c = await createEngine({ store: url, workers: [quick, slow], schedules: false });
      extra.push(c);
      await c.start();
      return c.waitForFinal(runs, { timeoutMs: 20_000 });
    });
    assert.ok(
      final.every((v) => v.status === 'completed'),
      final.map((v) => `${v.jobId}:${v.status}`).join(' '),
    );
    const byEngine = { a: 0, b: 0 };
    for (const id of runs) {
      const h = await a.history(id);
      const origin = h[0]?.metadata.origin;
      if (origin === a.processId) byEngine.a++;
      else if (origin === b.processId) byEngine.b++;
    }
    console.log(`  enqueued by engine a: ${byEngine.a}, by engine b: ${byEngine.b}`);
    assert.is(byEngine.a + byEngine.b, runs.length);
    const listed = await a.listSchedules();
    assert.is(listed.length, 1);
    assert.ok(listed[0]!.lastJobId !== undefined && runs.includes(listed[0]!.lastJobId));
    engines = [a];
  } finally {
    await Promise.all([a, b, ...extra].map((e) => e.close({ gracePeriodMs: 0 })));
  }
});

test('overlap skip: a tick whose previous run is unfinished is recorded as skipped, once, never also run', async () => {
  const url = `sqlite:${join(dir, 'overlap.db')}`;
  const [a, b] = await startTwo(url);
  try {
    const set = await a.upsertSchedule('slow', { cron: '* * * * * *', workerName: 'slow-tick', payload: {}, overlap: 'skip' });
    await sleep(7_500);
    await Promise.all([a.stop(), b.stop()]);
    const to = new Date();
    const store = await makeStore(url);
    let events;
    try {
      const r = await store.readStream(scheduleStreamName('slow'))();
      if (E.isLeft(r)) throw new Error(r.left.message);
      events = r.right.map(decodeScheduleEvent);
    } finally {
      await store.close();
    }
    const fired = events.flatMap((e) => (e.type === 'ScheduleTickFired' ? [e.data.fireTime] : []));
    const skipped = events.flatMap((e) => (e.type === 'ScheduleTickSkipped' ? [e.data.fireTime] : []));
    console.log(`  overlap skip: ${fired.length} ticks ran, ${skipped.length} skipped`);
    const decided: string[] = [...fired, ...skipped];
    assert.is(new Set(decided).size, decided.length, 'each tick decided once');
    assert.ok(skipped.length >= 3, `${skipped.length} skipped`);
    assert.ok(fired.length >= 2, `${fired.length} ran`);
    const runs = await runIdsOf(url, 'slow');
    assert.equal(runs, fired.map((f) => `slow@${f}`).sort(), 'a job for each tick that ran, none for a skipped one');
    // No gap: every tick from the first to the last one decided was decided. (How many ticks the
    // 7.5 s held depends on the machine's load; the ones a stop cut short are not gaps.)
    const last = decided.reduce((a, b) => (a > b ? a : b));
    const expected = ticksBetween(parseCron('* * * * * *', 'UTC'), new Date(set.schedule.setAt), to, 1000)
      .map((t) => t.toISOString())
      .filter((t) => t <= last);
    assert.equal(
      expected.filter((t) => !decided.includes(t)),
      [],
      'every tick decided, up to the last',
    );
  } finally {
    await Promise.all([a.close({ gracePeriodMs: 0 }), b.close({ gracePeriodMs: 0 })]);
  }
});

test('upsert validates before recording; pause, resume, trigger, remove', async () => {
  const url = `sqlite:${join(dir, 'api.db')}`;
  const e = await createEngine({ store: url, workers: [quick] });
  try {
    await rejects(() => e.upsertSchedule('bad', { cron: '61 * * * *', workerName: 'tick', payload: {} }), /invalid cron/);
    await rejects(
      () => e.upsertSchedule('bad', { cron: '* * * * *', workerName: 'tick', payload: {}, timezone: 'Mars/Olympus' }),
      /unknown time zone "Mars\/Olympus"/,
    );
    await rejects(() => e.upsertSchedule('bad@x', { cron: '* * * * *', workerName: 'tick', payload: {} }), /invalid schedule id/);
    assert.equal(await e.listSchedules(), [], 'nothing recorded for bad input');
    const first = await e.upsertSchedule('daily', { cron: '0 3 * * *', workerName: 'tick', payload: { n: 1 }, timezone: 'Europe/Berlin' });
    assert.ok(first.changed);
    const again = await e.upsertSchedule('daily', { cron: '0 3 * * *', workerName: 'tick', payload: { n: 1 }, timezone: 'Europe/Berlin' });
    assert.not.ok(again.changed, 'an equal upsert records nothing');
    assert.is((await e.pauseSchedule('daily')).status, 'paused');
    assert.is((await e.getSchedule('daily'))?.nextFireTime, undefined);
    assert.is((await e.resumeSchedule('daily')).status, 'active');
    const run = await e.triggerSchedule('daily', { by: 'ada' });
    assert.ok(run.jobId.startsWith('daily@'));
    assert.is(run.job.scheduleId, 'daily');
    const info = await e.getSchedule('daily');
    assert.is(info?.lastJobId, run.jobId);
    assert.is(info?.lastJobStatus, 'initial');
    assert.ok(info?.nextFireTime !== undefined);
    await e.removeSchedule('daily');
    assert.equal(await e.listSchedules(), []);
    await rejects(() => e.pauseSchedule('daily'), /no schedule "daily"/);
  } finally {
    await e.close({ gracePeriodMs: 0 });
  }
});

test.run();
