// "Timed out, still running" in the words people read (docs/running.md#timed-out-still-running): `jobtrail show`
// (formatView) and the dashboard's job page (jobViewSection) say it while the action runs, and not once its process
// is known to be gone or its return is recorded.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { toText } from '../../../src/dashboard/html.js';
import { jobViewSection } from '../../../src/dashboard/pages.js';
import { fold, type JobEvent } from '../../../src/job/index.js';
import { formatView } from '../../../src/present/index.js';

const test = suite('timed out, still running: show and the job page');
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const events = [
  { type: 'JobEnqueued', data: { jobId: 'j1', workerName: 'w', queue: 'default', payload: {}, maxAttempts: 2, enqueuedAt: at(0) } },
  { type: 'JobStarted', data: { attempt: 1, workerId: 'h:1:a', backgroundJobId: 'm1', startedAt: at(1) } },
  {
    type: 'JobErrored',
    data: {
      attempt: 1,
      erroredAt: at(6),
      error: { name: 'Timeout', message: 'past 5000 ms' },
      durationMs: 5000,
      retryAt: at(8),
      actionRunning: true,
    },
  },
] as unknown as JobEvent[];
const running = fold(events) as Parameters<typeof formatView>[0];
const returned = fold([...events, { type: 'JobActionReturned', data: { attempt: 1, at: at(9) } } as unknown as JobEvent]) as typeof running;

test('jobtrail show', () => {
  assert.match(formatView(running), /status\s+awaiting_retry \(next attempt at .*\) \(timed out, still running\)/);
  assert.match(formatView(running), `action          timed out, still running: attempt 1 since ${at(6)} on h:1:a`);
  const gone = formatView(running, new Set(['h:1:a']));
  assert.not.match(gone, 'still running');
  assert.match(gone, `attempt 1 timed out at ${at(6)}; its process h:1:a is gone, and the action with it`);
  assert.not.match(formatView(returned), 'timed out');
  assert.is(returned.updatedAt, running.updatedAt, 'the return changes no updatedAt');
});

test('the dashboard job page', () => {
  const page = toText(jobViewSection(running));
  assert.match(page, '<span class="badge timed-out-running" data-field="timedOutRunning">timed out, still running</span>');
  assert.match(page, 'data-field="actionsRunning">timed out, still running: attempt 1');
  assert.not.match(toText(jobViewSection(running, new Set(['h:1:a']))), 'timed-out-running');
  assert.not.match(toText(jobViewSection(returned)), 'timed out');
});

test.run();
