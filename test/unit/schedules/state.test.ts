// The fold of a schedule stream (docs/recurring.md#events).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { foldSchedule, sameDefinition, type ScheduleEvent } from '../../../src/schedules/index.js';
import type { IsoDate } from '../../../src/job/index.js';

const test = suite('schedule fold');
const at = (s: string) => s as IsoDate;
const set = (cron: string, when: string): ScheduleEvent => ({
  type: 'ScheduleSet',
  data: {
    scheduleId: 'nightly',
    cron,
    timezone: 'Europe/Berlin',
    workerName: 'report',
    payload: { n: 1 },
    catchUp: 'latest',
    overlap: 'skip',
    at: at(when),
  },
});
const stamp = (type: 'SchedulePaused' | 'ScheduleResumed' | 'ScheduleRemoved', when: string): ScheduleEvent =>
  ({ type, data: { scheduleId: 'nightly', at: at(when) } }) as ScheduleEvent;

test('no events: no schedule; stray events before a ScheduleSet are ignored', () => {
  assert.is(foldSchedule([]), undefined);
  assert.is(foldSchedule([stamp('SchedulePaused', '2026-01-01T00:00:00Z')]), undefined);
});

test('set, pause, resume: active since the resume; a set of a paused schedule keeps it paused', () => {
  const s = foldSchedule([
    set('0 3 * * *', '2026-01-01T00:00:00Z'),
    stamp('SchedulePaused', '2026-01-02T00:00:00Z'),
    stamp('ScheduleResumed', '2026-01-03T00:00:00Z'),
  ]);
  assert.is(s?.status, 'active');
  assert.is(s?.activeSince, '2026-01-03T00:00:00Z');
  const paused = foldSchedule([
    set('0 3 * * *', '2026-01-01T00:00:00Z'),
    stamp('SchedulePaused', '2026-01-02T00:00:00Z'),
    set('0 4 * * *', '2026-01-04T00:00:00Z'),
  ]);
  assert.is(paused?.status, 'paused');
  assert.is(paused?.cron, '0 4 * * *');
  assert.is(paused?.activeSince, '2026-01-01T00:00:00Z');
});

test('removed, then set again: a fresh schedule', () => {
  const s = foldSchedule([
    set('0 3 * * *', '2026-01-01T00:00:00Z'),
    {
      type: 'ScheduleTickSkipped',
      data: { scheduleId: 'nightly', fireTime: at('2026-01-01T02:00:00.000Z'), runningJobId: 'x', at: at('2026-01-01T02:00:00Z') },
    },
    stamp('ScheduleRemoved', '2026-01-02T00:00:00Z'),
  ]);
  assert.is(s?.status, 'removed');
  assert.is(s?.skippedTicks, 1);
  const again = foldSchedule([set('0 5 * * *', '2026-01-05T00:00:00Z')], s);
  assert.is(again?.status, 'active');
  assert.is(again?.skippedTicks, 0);
  assert.is(again?.activeSince, '2026-01-05T00:00:00Z');
});

test('tick decisions: the newest one, the newest fired run, the count of skips; triggers apart', () => {
  const s = foldSchedule([
    set('0 3 * * *', '2026-01-01T00:00:00Z'),
    {
      type: 'ScheduleTickFired',
      data: {
        scheduleId: 'nightly',
        fireTime: at('2026-01-02T02:00:00.000Z'),
        jobId: 'nightly@2026-01-02T02:00:00.000Z',
        at: at('2026-01-02T02:00:00Z'),
      },
    },
    {
      type: 'ScheduleTickSkipped',
      data: {
        scheduleId: 'nightly',
        fireTime: at('2026-01-03T02:00:00.000Z'),
        runningJobId: 'nightly@2026-01-02T02:00:00.000Z',
        at: at('2026-01-03T02:00:00Z'),
      },
    },
    {
      type: 'ScheduleTriggered',
      data: {
        scheduleId: 'nightly',
        fireTime: at('2026-01-03T09:00:00.000Z'),
        jobId: 'nightly@2026-01-03T09:00:00.000Z',
        at: at('2026-01-03T09:00:00Z'),
      },
    },
  ]);
  assert.equal(s?.lastDecision, {
    fireTime: '2026-01-03T02:00:00.000Z',
    outcome: 'skipped',
    runningJobId: 'nightly@2026-01-02T02:00:00.000Z',
  });
  assert.equal(s?.lastFired, { fireTime: '2026-01-02T02:00:00.000Z', jobId: 'nightly@2026-01-02T02:00:00.000Z' });
  assert.equal(s?.lastTriggered, { fireTime: '2026-01-03T09:00:00.000Z', jobId: 'nightly@2026-01-03T09:00:00.000Z' });
  assert.is(s?.skippedTicks, 1);
});

test('sameDefinition: equal definitions, whatever the time they were set', () => {
  const a = foldSchedule([set('0 3 * * *', '2026-01-01T00:00:00Z')])!;
  const b = foldSchedule([set('0 3 * * *', '2026-02-01T00:00:00Z')])!;
  const c = foldSchedule([set('0 4 * * *', '2026-01-01T00:00:00Z')])!;
  assert.ok(sameDefinition(a, b));
  assert.not.ok(sameDefinition(a, c));
});

test.run();
