// The tick computation of recurring jobs (docs/recurring.md): croner in the schedule's zone, daylight-saving days
// included, and which due ticks fire under each catchUp. Pure: every time is given.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { maxCatchUp, nextTick, onTimeMs, parseCron, planTicks, ticksBetween } from '../../../src/schedules/index.js';

const test = suite('schedule ticks');
const iso = (ds: readonly Date[]) => ds.map((d) => d.toISOString());
const at = (s: string) => new Date(s);

test('a 02:30 Europe/Berlin tick fires once on the spring-forward day, at 03:00 local (01:00Z)', () => {
  const cron = parseCron('30 2 * * *', 'Europe/Berlin');
  assert.equal(iso(ticksBetween(cron, at('2026-03-28T00:00:00Z'), at('2026-03-30T23:00:00Z'), 100)), [
    '2026-03-28T01:30:00.000Z',
    '2026-03-29T01:00:00.000Z',
    '2026-03-30T00:30:00.000Z',
  ]);
  assert.is(nextTick(cron, at('2026-03-29T00:59:59Z'))?.toISOString(), '2026-03-29T01:00:00.000Z');
  assert.is(nextTick(cron, at('2026-03-29T01:00:00Z'))?.toISOString(), '2026-03-30T00:30:00.000Z');
});

test('a 02:30 America/New_York tick fires once on the spring-forward day', () => {
  const cron = parseCron('30 2 * * *', 'America/New_York');
  const ticks = ticksBetween(cron, at('2026-03-07T12:00:00Z'), at('2026-03-09T12:00:00Z'), 100);
  assert.is(ticks.length, 2);
  assert.is(ticks.filter((d) => d.toISOString().startsWith('2026-03-08')).length, 1);
});

test('a 01:30 America/New_York tick fires once on the fall-back day (the first 01:30, EDT)', () => {
  const cron = parseCron('30 1 * * *', 'America/New_York');
  assert.equal(iso(ticksBetween(cron, at('2026-10-31T00:00:00Z'), at('2026-11-02T12:00:00Z'), 100)), [
    '2026-10-31T05:30:00.000Z',
    '2026-11-01T05:30:00.000Z',
    '2026-11-02T06:30:00.000Z',
  ]);
});

test('a 02:30 Europe/Berlin tick fires once on the fall-back day', () => {
  const cron = parseCron('30 2 * * *', 'Europe/Berlin');
  const ticks = ticksBetween(cron, at('2026-10-24T12:00:00Z'), at('2026-10-26T12:00:00Z'), 100);
  assert.equal(iso(ticks), ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
});

test('an hourly cron on the Berlin fall-back day fires for each of the 25 hours', () => {
  const cron = parseCron('0 * * * *', 'Europe/Berlin');
  // 2026-10-25 local: 00:00 CEST (22:00Z the day before) to 24:00 CET (23:00Z).
  assert.is(ticksBetween(cron, at('2026-10-24T21:59:59Z'), at('2026-10-25T22:59:59Z'), 100).length, 25);
});

test('seconds are optional: six fields put seconds first', () => {
  const cron = parseCron('*/2 * * * * *', 'UTC');
  assert.equal(iso(ticksBetween(cron, at('2026-01-01T00:00:00Z'), at('2026-01-01T00:00:05Z'), 100)), [
    '2026-01-01T00:00:02.000Z',
    '2026-01-01T00:00:04.000Z',
  ]);
});

test('ticksBetween keeps the newest `limit` ticks of a long span (walking back, not forward)', () => {
  const cron = parseCron('* * * * * *', 'UTC');
  const ticks = ticksBetween(cron, at('2020-01-01T00:00:00Z'), at('2026-01-01T00:00:00Z'), 101);
  assert.is(ticks.length, 101);
  assert.is(ticks[100]!.toISOString(), '2026-01-01T00:00:00.000Z');
  assert.is(ticks[0]!.toISOString(), '2025-12-31T23:58:20.000Z');
});

test('a bad cron or zone throws croner’s reason', () => {
  assert.throws(() => parseCron('61 * * * *', 'UTC'), /minute/);
  assert.throws(() => parseCron('not a cron', 'UTC'), /five, six, or seven/);
});

const now = at('2026-01-01T12:00:00Z');
const minutesAgo = (n: number) => new Date(now.getTime() - n * 60_000);

test('planTicks: on-time ticks always fire, whatever catchUp', () => {
  const due = [new Date(now.getTime() - 1000)];
  for (const c of ['none', 'latest', 'all'] as const) assert.equal(planTicks(due, now, c), due, c);
  assert.ok(onTimeMs >= 1000);
});

test('planTicks: missed ticks: none fires none, latest one (the newest), all every one', () => {
  const missed = [minutesAgo(30), minutesAgo(20), minutesAgo(10)];
  assert.equal(planTicks(missed, now, 'none'), []);
  assert.equal(planTicks(missed, now, 'latest'), [minutesAgo(10)]);
  assert.equal(planTicks(missed, now, 'all'), missed);
  assert.equal(planTicks([], now, 'latest'), []);
});

test('planTicks: latest fires no missed tick when an on-time one stands for them', () => {
  const onTime = new Date(now.getTime() - 500);
  assert.equal(planTicks([minutesAgo(10), onTime], now, 'latest'), [onTime]);
});

test(`planTicks: all is bounded to the newest ${maxCatchUp}`, () => {
  const missed = Array.from({ length: 250 }, (_, i) => minutesAgo(250 - i));
  const planned = planTicks(missed, now, 'all');
  assert.is(planned.length, maxCatchUp);
  assert.equal(planned[planned.length - 1], minutesAgo(1));
});

test.run();
