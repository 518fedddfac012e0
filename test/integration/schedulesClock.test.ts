// Recurring jobs against an injected clock (the engine's `now` option, which the scheduler honours): the catch-up after
// a downtime computed from the clock at start (no sleeping for hours), the one-minute "on time" boundary, workers'
// declared schedules at start, pause/resume/remove/trigger, and the stepped wait for a tick more than 2^31 ms away.
// Embedded store (a temp SQLite file, so that two engines and the test can share it), memory broker.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as E from 'fp-ts/lib/Either.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore } from '../../src/backends/index.js';
import { createEngine, type Engine, type EngineOptions } from '../../src/engine.js';
import { maxCatchUp, maxTimerMs, scheduleStreamName, type CatchUp } from '../../src/schedules/index.js';
import { defineWorker, type WorkerSchedule } from '../../src/worker/index.js';

const test = suite('schedules: an injected clock');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-schedules-clock-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const work = defineWorker({ name: 'clock-work', action: async (p: unknown) => p });
const H = 3_600_000;
const T0 = Date.parse('2026-03-02T12:00:00.000Z'); // on the hour
const iso = (ms: number) => new Date(ms).toISOString();
let files = 0;
const freshUrl = () => `sqlite:${join(dir, `store-${++files}.db`)}`;

/** An engine on `url` whose clock reads `clock()`. */
const engineAt = (url: string, clock: () => number, extra: EngineOptions = {}): Promise<Engine> =>
  createEngine({ store: url, workers: [work], now: () => new Date(clock()), ...extra });

/** Reads the store itself (a connection of the test's own). */
const withStore = async <T>(url: string, f: (store: Awaited<ReturnType<typeof makeStore>>) => Promise<T>): Promise<T> => {
  const store = await makeStore(url);
  try {
    return await f(store);
  } finally {
    await store.close();
  }
};

/** The ids of the jobs whose id starts with `<scheduleId>@`, sorted. */
const runIdsOf = (url: string, scheduleId: string): Promise<string[]> =>
  withStore(url, async (store) => {
    const r = await store.readAll({ streamPrefix: `job-${scheduleId}@` })();
    if (E.isLeft(r)) throw new Error(r.left.message);
    return [...new Set(r.right.filter((e) => e.type === 'JobEnqueued').map((e) => e.streamId.slice('job-'.length)))].sort();
  });

/** The event types of a schedule's stream, in order. */
const scheduleEvents = (url: string, scheduleId: string) =>
  withStore(url, async (store) => {
    const r = await store.readStream(scheduleStreamName(scheduleId))();
    if (E.isLeft(r)) throw new Error(r.left.message);
    return r.right;
  });

/**
 * Sets an hourly schedule at T0 (engine started and closed at T0), then starts a new engine on the same store whose
 * clock reads `T0 + downMs`; resolves to the runs that start made (its catch-up, computed from the clock).
 */
const afterDowntime = async (
  scheduleId: string,
  catchUp: CatchUp,
  downMs: number,
): Promise<{ url: string; runs: string[]; engine: Engine }> => {
  const url = freshUrl();
  const first = await engineAt(url, () => T0);
  try {
    await first.start();
    const set = await first.upsertSchedule(scheduleId, { cron: '0 * * * *', workerName: work.name, payload: { s: scheduleId }, catchUp });
    assert.is(set.schedule.setAt, iso(T0));
  } finally {
    await first.close({ gracePeriodMs: 0 });
  }
  assert.equal(await runIdsOf(url, scheduleId), [], 'nothing fired at T0');
  const second = await engineAt(url, () => T0 + downMs);
  await second.start();
  return { url, runs: await runIdsOf(url, scheduleId), engine: second };
};

/** Every run is a job whose view names the schedule and the tick. */
const checkViews = async (engine: Engine, scheduleId: string, runs: readonly string[]) => {
  for (const id of runs) {
    const view = await engine.getJob(id);
    assert.ok(view !== undefined, id);
    assert.is(view.scheduleId, scheduleId, id);
    assert.is(`${scheduleId}@${view.fireTime}`, id, 'fireTime is the tick of the id');
    assert.is(view.enqueuedBy, `schedule:${scheduleId}`);
  }
};

const down = 5 * H + 10 * 60_000; // 5 h 10 min: ticks T0+1h … T0+5h missed
const missed5 = [1, 2, 3, 4, 5].map((h) => `hourly@${iso(T0 + h * H)}`);

test("missed ticks after 5 h 10 min down: catchUp 'none' runs none of them", async () => {
  const { runs, engine } = await afterDowntime('hourly', 'none', down);
  try {
    assert.equal(runs, []);
    assert.is((await engine.getSchedule('hourly'))?.nextFireTime, iso(T0 + 6 * H), 'waits for the next tick');
  } finally {
    await engine.close({ gracePeriodMs: 0 });
  }
});

test("missed ticks after 5 h 10 min down: catchUp 'latest' runs one, the newest missed tick", async () => {
  const { runs, engine } = await afterDowntime('hourly', 'latest', down);
  try {
    assert.equal(runs, [`hourly@${iso(T0 + 5 * H)}`]);
    await checkViews(engine, 'hourly', runs);
  } finally {
    await engine.close({ gracePeriodMs: 0 });
  }
});

test("missed ticks after 5 h 10 min down: catchUp 'all' runs the 5, once each (a second start adds none)", async () => {
  const { url, runs, engine } = await afterDowntime('hourly', 'all', down);
  try {
    assert.equal(runs, missed5);
    await checkViews(engine, 'hourly', runs);
  } finally {
    await engine.close({ gracePeriodMs: 0 });
  }
  // Another start at the same time: the runs exist, nothing is missing, nothing is added.
  const again = await engineAt(url, () => T0 + down);
  try {
    await again.start();
    assert.equal(await runIdsOf(url, 'hourly'), missed5);
  } finally {
    await again.close({ gracePeriodMs: 0 });
  }
});

test(`missed ticks after 150 h down: catchUp 'all' runs the newest ${maxCatchUp}`, async () => {
  const { runs, engine } = await afterDowntime('hourly', 'all', 150 * H + 10 * 60_000);
  try {
    const expected = Array.from({ length: maxCatchUp }, (_, i) => `hourly@${iso(T0 + (51 + i) * H)}`);
    assert.is(runs.length, 100);
    assert.equal(runs, expected, 'T0+51h … T0+150h');
    await checkViews(engine, 'hourly', [runs[0]!, runs[99]!]);
  } finally {
    await engine.close({ gracePeriodMs: 0 });
  }
});

test('a tick less than 60 s late is on time (fires under catchUp none); 60 s late is missed', async () => {
  const onTime = await afterDowntime('edge', 'none', H + 59_999);
  try {
    assert.equal(onTime.runs, [`edge@${iso(T0 + H)}`], '59.999 s late: on time');
    await checkViews(onTime.engine, 'edge', onTime.runs);
  } finally {
    await onTime.engine.close({ gracePeriodMs: 0 });
  }
  const late = await afterDowntime('edge', 'none', H + 60_000);
  try {
    assert.equal(late.runs, [], '60 s late: missed, and none are caught up');
  } finally {
    await late.engine.close({ gracePeriodMs: 0 });
  }
  // Under 'latest', an on-time tick stands for the missed ones: T0+1h (missed) is not run besides T0+2h (on time).
  const latest = await afterDowntime('edge', 'latest', 2 * H + 30_000);
  try {
    assert.equal(latest.runs, [`edge@${iso(T0 + 2 * H)}`]);
  } finally {
    await latest.engine.close({ gracePeriodMs: 0 });
  }
});

test('defineWorker({ schedule }) is upserted at start: unchanged records nothing, changed records a ScheduleSet', async () => {
  const url = freshUrl();
  const declare = (schedule: WorkerSchedule) => defineWorker({ name: 'nightly-report', action: async () => 'ok', schedule });
  let clock = T0;
  const startWith = async (schedule: WorkerSchedule, twice = false) => {
    const e = await createEngine({ store: url, workers: [declare(schedule)], now: () => new Date(clock) });
    try {
      await e.start();
      if (twice) {
        await e.stop();
        await e.start();
      }
      return await e.getSchedule('report');
    } finally {
      await e.close({ gracePeriodMs: 0 });
    }
  };
  const v1: WorkerSchedule = { id: 'report', cron: '0 3 * * *', payload: { format: 'pdf' }, timezone: 'Europe/Berlin', catchUp: 'none' };
  const first = await startWith(v1);
  assert.is(first?.cron, '0 3 * * *');
  assert.is(first?.workerName, 'nightly-report');
  assert.equal(first?.payload, { format: 'pdf' });
  let events = await scheduleEvents(url, 'report');
  assert.equal(
    events.map((e) => e.type),
    ['ScheduleSet'],
  );
  assert.is(events[0]!.metadata.by, 'worker:nightly-report');
  clock += H;
  await startWith({ ...v1, payload: { format: 'pdf' } }, true); // an equal definition (a new object), started twice
  assert.is((await scheduleEvents(url, 'report')).length, 1, 'an unchanged declared schedule records nothing');
  clock += H;
  const changed = await startWith({ ...v1, cron: '30 4 * * *' });
  events = await scheduleEvents(url, 'report');
  assert.equal(
    events.map((e) => e.type),
    ['ScheduleSet', 'ScheduleSet'],
  );
  assert.is((events[1]!.data as { cron: string }).cron, '30 4 * * *');
  assert.is((events[1]!.data as { at: string }).at, iso(T0 + 2 * H), 'recorded at the engine clock');
  assert.is(changed?.cron, '30 4 * * *');
  assert.is(changed?.nextFireTime, '2026-03-03T03:30:00.000Z', '04:30 Berlin (CET)');
});

test('paused fires nothing across its ticks, resumed fires again (not the paused ticks), removed stops; trigger is its own run', async () => {
  const url = freshUrl();
  const e = await createEngine({ store: url, workers: [work] });
  const count = async () => (await runIdsOf(url, 'every-second')).length;
  try {
    await e.start();
    await e.upsertSchedule('every-second', { cron: '* * * * * *', workerName: work.name, payload: {} });
    await sleep(2_200);
    const ran = await count();
    assert.ok(ran >= 1, `${ran} runs while active`);
    await e.pauseSchedule('every-second');
    const pausedAt = Date.now();
    await sleep(300); // the scheduler follows the pause through its subscription
    const atPause = await count();
    await sleep(3_000);
    assert.is(await count(), atPause, 'no run across ~3 ticks while paused');
    const resumedAt = Date.now();
    await e.resumeSchedule('every-second');
    await sleep(2_200);
    const afterResume = await runIdsOf(url, 'every-second');
    assert.ok(afterResume.length > atPause, `${afterResume.length - atPause} runs after resuming`);
    const fireTimes = afterResume.map((id) => Date.parse(id.slice('every-second@'.length)));
    assert.equal(fireTimes.filter((t) => t > pausedAt + 1_000 && t <= resumedAt).map(iso), [], 'the ticks while paused are not caught up');
    // Trigger (while paused, so that no tick is newer than it): one run now, an id no tick has, shown as the last run.
    await e.pauseSchedule('every-second');
    await sleep(300);
    const before = await runIdsOf(url, 'every-second');
    const run = await e.triggerSchedule('every-second', { by: 'ada' });
    assert.ok(run.created);
    assert.not.ok(before.includes(run.jobId));
    assert.match(run.jobId, /^every-second@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.is.not(new Date(run.jobId.slice('every-second@'.length)).getUTCMilliseconds(), 0, 'ticks are whole seconds; a trigger is not');
    const view = await e.getJob(run.jobId);
    assert.is(view?.enqueuedBy, 'ada');
    assert.is(view?.scheduleId, 'every-second');
    assert.equal(await runIdsOf(url, 'every-second'), [...before, run.jobId].sort(), 'exactly one run added');
    const [listed] = await e.listSchedules();
    assert.is(listed?.status, 'paused');
    assert.is(listed?.lastJobId, run.jobId);
    assert.is(listed?.lastFireTime, view?.fireTime);
    // Removed: no more runs.
    await e.resumeSchedule('every-second');
    await sleep(1_500);
    await e.removeSchedule('every-second');
    await sleep(300);
    const atRemove = await count();
    await sleep(2_500);
    assert.is(await count(), atRemove, 'no run after removal');
    assert.equal(await e.listSchedules(), []);
  } finally {
    await e.close({ gracePeriodMs: 0 });
  }
});

test('a trigger at the instant of a tick, before or after the tick fired, and two at one instant: each is a run of its own', async () => {
  const url = freshUrl();
  const tick = T0 + H;
  const tickRun = `exact@${iso(tick)}`;
  let clock = T0;
  const e = await engineAt(url, () => clock);
  try {
    await e.upsertSchedule('exact', { cron: '0 * * * *', workerName: work.name, payload: {} });
    clock = tick; // the clock stands exactly on a tick
    // Triggered before the scheduler fires that tick (the engine is not started yet): the tick keeps its own run.
    const first = await e.triggerSchedule('exact');
    assert.ok(first.created);
    assert.is.not(first.jobId, tickRun, 'a trigger does not take the tick’s run');
    await e.start(); // the T0+1h tick is on time (0 ms late): it fires
    assert.equal(await runIdsOf(url, 'exact'), [first.jobId, tickRun].sort());
    assert.is((await e.getJob(tickRun))?.enqueuedBy, 'schedule:exact', 'the tick’s run is the tick’s');
    // Triggered after the tick fired, twice at the same instant: two more jobs.
    const a = await e.triggerSchedule('exact');
    const b = await e.triggerSchedule('exact');
    assert.ok(a.created && b.created, 'each trigger creates a job');
    assert.equal(new Set([tickRun, first.jobId, a.jobId, b.jobId]).size, 4, 'four distinct runs');
    assert.equal(await runIdsOf(url, 'exact'), [tickRun, first.jobId, a.jobId, b.jobId].sort());
    assert.is((await e.getJob(a.jobId))?.enqueuedBy, 'trigger');
    assert.is((await e.getJob(b.jobId))?.fireTime, b.jobId.slice('exact@'.length));
    assert.is((await e.getSchedule('exact'))?.lastJobId, b.jobId);
  } finally {
    await e.close({ gracePeriodMs: 0 });
  }
});

test('a tick more than 2^31 ms away (yearly): the timer waits in capped steps, never fires early, never spins', async () => {
  // The scheduler's timer is found by its callback (`onTimer` in src/schedules/scheduler.ts): every arm is recorded,
  // and the test plays the timer itself, after moving the clock, instead of waiting 25 days.
  const realSetTimeout = globalThis.setTimeout;
  const arms: { delay: number; fire: () => unknown }[] = [];
  globalThis.setTimeout = ((cb: (...args: unknown[]) => unknown, delay?: number, ...args: unknown[]) => {
    if (cb.name === 'onTimer') arms.push({ delay: delay ?? 0, fire: cb });
    return realSetTimeout(cb, delay, ...args);
  }) as typeof setTimeout;
  const url = freshUrl();
  let clock = Date.parse('2026-12-07T00:00:00.000Z');
  const tick = Date.parse('2027-01-01T00:00:00.000Z'); // 25 days on: 2,160,000,000 ms > 2^31 - 1
  const e = await engineAt(url, () => clock);
  try {
    await e.upsertSchedule('yearly', { cron: '0 0 1 1 *', workerName: work.name, payload: {} });
    await e.start();
    assert.ok(arms.length >= 1, 'the scheduler armed its timer');
    const wake = async (at: number) => {
      clock = at;
      const before = arms.length;
      await arms[arms.length - 1]!.fire(); // onTimer resolves once the ticks are fired and the timer re-armed
      assert.is(arms.length, before + 1, 'one wake-up arms one timer');
      return arms[arms.length - 1]!.delay;
    };
    const armedAtStart = arms.length;
    assert.is(arms[arms.length - 1]!.delay, maxTimerMs, 'the first step is the longest setTimeout takes');
    await sleep(500);
    assert.is(arms.length, armedAtStart, 'no wake-up while waiting (no spin)');
    // The first step ends: not yet due; the rest of the wait is armed.
    assert.is(await wake(clock + maxTimerMs), tick - (Date.parse('2026-12-07T00:00:00.000Z') + maxTimerMs));
    assert.equal(await runIdsOf(url, 'yearly'), [], 'nothing fired after the first step');
    // Woken 10 s early (a timer that fires early): nothing, and the 10 s left are armed. (The armed timer is real;
    // the next wake-up clears it long before it is due.)
    assert.is(await wake(tick - 10_000), 10_000);
    assert.equal(await runIdsOf(url, 'yearly'), [], 'not fired early');
    // At the tick: the run, and the wait for next year's tick, again capped.
    assert.is(await wake(tick), maxTimerMs);
    assert.equal(await runIdsOf(url, 'yearly'), ['yearly@2027-01-01T00:00:00.000Z']);
    assert.is((await e.getJob('yearly@2027-01-01T00:00:00.000Z'))?.fireTime, '2027-01-01T00:00:00.000Z');
    assert.ok(
      arms.every((a) => a.delay >= 1 && a.delay <= maxTimerMs),
      arms.map((a) => a.delay).join(' '),
    );
    await sleep(300);
    assert.is(arms.length, armedAtStart + 3, 'three wake-ups in all: the ones the test played');
  } finally {
    globalThis.setTimeout = realSetTimeout;
    await e.close({ gracePeriodMs: 0 });
  }
});

test.run();
