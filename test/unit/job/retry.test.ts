// The retry policy: Hangfire's delays and when a retry is planned.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import {
  defaultMaxInterruptions,
  defaultRetryPolicy,
  fold,
  hangfireDelayMs,
  interruptionRetryDelayMs,
  isJobView,
  planRetry,
  replay,
  setToErrored,
  type IsoDate,
  type JobEvent,
  type JobView,
} from '../../../src/job/index.js';
import { ev, sec } from './jobTestKit.js';

const justBelowOne = 1 - Number.EPSILON / 2; // the largest double below 1: a draw of 0.999…

const delays = suite('hangfireDelayMs');

for (let n = 1; n <= 10; n += 1) {
  delays(`attempt ${n}: (n−1)^4 + 15 + random(0..29)·n seconds at both ends of the draw`, () => {
    const base = (n - 1) ** 4 + 15;
    assert.is(hangfireDelayMs(n, 0), base * 1000);
    assert.is(hangfireDelayMs(n, justBelowOne), (base + 29 * n) * 1000);
    assert.is(hangfireDelayMs(n, 0.5), (base + 15 * n) * 1000);
  });
}

delays('the draw is cut into 30 equal steps of n seconds each', () => {
  for (const n of [1, 4, 10]) {
    for (let k = 0; k < 30; k += 1) {
      const lo = k / 30;
      assert.is(hangfireDelayMs(n, lo + 1e-12), ((n - 1) ** 4 + 15 + k * n) * 1000, `n=${n} k=${k}`);
    }
  }
});

delays('known values: 15 s to 44 s after the first failure, 6576 s to 6866 s after the tenth', () => {
  assert.is(hangfireDelayMs(1, 0), 15_000);
  assert.is(hangfireDelayMs(1, justBelowOne), 44_000);
  assert.is(hangfireDelayMs(10, 0), 6_576_000);
  assert.is(hangfireDelayMs(10, justBelowOne), 6_866_000);
});

delays('the default policy is Hangfire’s: ten attempts with those delays', () => {
  assert.is(defaultRetryPolicy.maxAttempts, 10);
  assert.is(defaultRetryPolicy.delayMs, hangfireDelayMs);
});

delays.run();

const plan = suite('planRetry');

const viewOf = (events: Parameters<typeof fold>[0]): JobView => {
  const s = fold(events);
  if (!isJobView(s)) throw new Error('no view');
  return s;
};
const inProgress = (attempt: number, max: number): JobView => {
  const events = [ev.enqueued('job-retry', max)];
  for (let a = 1; a < attempt; a += 1)
    events.push(ev.started(a, sec(a * 10)), ev.errored(a, sec(a * 10 + 1), sec(a * 10 + 2)), ev.reset('retry', sec(a * 10 + 2)));
  events.push(ev.started(attempt, sec(attempt * 10)));
  return viewOf(events);
};
const now = new Date('2026-11-28T10:59:19.000Z');
const options = { retryable: true, now, random: 0, delayMs: hangfireDelayMs };

plan('now + the delay of the failed attempt while attempts remain', () => {
  assert.is(planRetry(inProgress(1, 10), 1, options), '2026-11-28T10:59:34.000Z');
  assert.is(
    planRetry(inProgress(2, 10), 2, { ...options, random: justBelowOne }),
    new Date(now.getTime() + (1 + 15 + 58) * 1000).toISOString(),
  );
  assert.is(planRetry(inProgress(9, 10), 9, options), new Date(now.getTime() + (8 ** 4 + 15) * 1000).toISOString());
});

plan('passes the failed attempt and the draw to the policy’s delay', () => {
  const seen: Array<[number, number]> = [];
  const at = planRetry(inProgress(3, 5), 3, {
    ...options,
    random: 0.25,
    delayMs: (attempt, random) => {
      seen.push([attempt, random]);
      return 1500;
    },
  });
  assert.equal(seen, [[3, 0.25]]);
  assert.is(at, '2026-11-28T10:59:20.500Z');
});

plan('a negative delay from a custom policy means "now", never the past', () => {
  assert.is(planRetry(inProgress(1, 3), 1, { ...options, delayMs: () => -5000 }), now.toISOString());
});

plan('undefined when the error is not retryable', () => {
  assert.is(planRetry(inProgress(1, 10), 1, { ...options, retryable: false }), undefined);
});

plan('undefined when no attempts are left, and only then', () => {
  assert.is(planRetry(inProgress(10, 10), 10, options), undefined);
  assert.is(planRetry(inProgress(1, 1), 1, options), undefined);
  assert.is.not(planRetry(inProgress(2, 3), 2, options), undefined);
  assert.is(planRetry(inProgress(3, 3), 3, options), undefined);
});

plan('after a manual reset the budget counts from attemptBase', () => {
  const events = [ev.enqueued('job-retry', 2), ev.started(1, 0), ev.errored(1, sec(1), sec(2)), ev.reset('retry', sec(2))];
  events.push(ev.started(2, sec(3)), ev.errored(2, sec(4)), ev.reset('manual', sec(5)), ev.started(3, sec(6)));
  const v = viewOf(events);
  assert.is(v.attemptBase, 2);
  assert.is(planRetry(v, 3, options), new Date(now.getTime() + (2 ** 4 + 15) * 1000).toISOString());
  const fourth = viewOf([...events, ev.errored(3, sec(7), sec(8)), ev.reset('retry', sec(8)), ev.started(4, sec(9))]);
  assert.is(planRetry(fourth, 4, options), undefined);
});

/** A job of `max` attempts whose first `n` attempts were interrupted and retried, now running attempt n + 1. */
const afterInterruptions = (n: number, max: number, more: readonly JobEvent[] = []): JobEvent[] => {
  const events = [ev.enqueued('job-deploys', max), ...more];
  for (let a = 1; a <= n; a += 1)
    events.push(ev.started(a, sec(a * 10)), ev.interrupted(a, sec(a * 10 + 1), sec(a * 10 + 2)), ev.reset('retry', sec(a * 10 + 2)));
  events.push(ev.started(n + 1, sec((n + 1) * 10)));
  return events;
};

plan('an interrupted attempt is retried after a short fixed delay, not the backoff, and even when it was the last counted attempt', () => {
  assert.is(interruptionRetryDelayMs, 1000);
  const last = viewOf(afterInterruptions(0, 1));
  assert.is(planRetry(last, 1, options), undefined, 'a failure of the only attempt is not retried');
  assert.is(planRetry(last, 1, { ...options, interrupted: true }), new Date(now.getTime() + 1000).toISOString());
  const fifth = viewOf(afterInterruptions(4, 2));
  assert.is(planRetry(fifth, 5, { ...options, random: justBelowOne, interrupted: true }), '2026-11-28T10:59:20.000Z');
  assert.is(planRetry(fifth, 5, { ...options, retryable: false, interrupted: true }), undefined, 'not retryable stays not retryable');
});

plan('interruptions do not count against maxAttempts: after 3 interruptions a job of 2 attempts still has its 2', () => {
  const v = viewOf(afterInterruptions(3, 2));
  assert.is(v.attempts, 4);
  assert.is(v.interruptions, 3);
  assert.is(
    planRetry(v, 4, options),
    new Date(now.getTime() + (3 ** 4 + 15) * 1000).toISOString(),
    'a failure of attempt 4 is the first counted',
  );
  const again = viewOf([
    ...afterInterruptions(3, 2).slice(0, -1),
    ev.started(4, sec(40)),
    ev.errored(4, sec(41), sec(42)),
    ev.reset('retry', sec(42)),
    ev.started(5, sec(50)),
  ]);
  assert.is(planRetry(again, 5, options), undefined, 'attempt 5 is the second counted one: the last');
});

plan(
  `an interruption past the bound (default ${defaultMaxInterruptions}) is not retried: a job that kills its process every time ends`,
  () => {
    assert.is(defaultMaxInterruptions, 10);
    assert.is.not(planRetry(viewOf(afterInterruptions(9, 3)), 10, { ...options, interrupted: true }), undefined, 'the 10th is retried');
    const eleventh = viewOf(afterInterruptions(10, 3));
    assert.is(planRetry(eleventh, 11, { ...options, interrupted: true }), undefined, 'the 11th is not');
    const r = setToErrored(eleventh, {
      attempt: 11,
      erroredAt: now.toISOString() as IsoDate,
      error: { name: 'WorkerLost', message: 'gone' },
      interrupted: true,
      retryAt: now.toISOString() as IsoDate,
    });
    assert.ok(
      E.isLeft(r) && r.left.message.includes('interrupted 11 times, more than the 10 retried'),
      E.isLeft(r) ? r.left.message : 'accepted',
    );
    const own = [{ ...ev.enqueued('job-deploys', 3), data: { ...ev.enqueued('job-deploys', 3).data, maxInterruptions: 1 } } as JobEvent];
    const second = viewOf([...own, ev.started(1, 0), ev.interrupted(1, sec(1), sec(2)), ev.reset('retry', sec(2)), ev.started(2, sec(3))]);
    assert.is(second.maxInterruptions, 1);
    assert.is(planRetry(second, 2, { ...options, interrupted: true }), undefined, 'a job enqueued with maxInterruptions 1 retries one');
    assert.is.not(planRetry(second, 2, options), undefined, 'its ordinary failures still have their budget');
  },
);

plan('a manual retry grants a fresh budget of interruptions too', () => {
  const events = [
    ...afterInterruptions(10, 3).slice(0, -1),
    ev.started(11, sec(110)),
    ev.interrupted(11, sec(111)),
    ev.reset('manual', sec(112)),
  ];
  const v = viewOf([...events, ev.started(12, sec(113))]);
  assert.is(v.interruptions, undefined);
  assert.is(v.attemptBase, 11);
  assert.is.not(planRetry(v, 12, { ...options, interrupted: true }), undefined);
});

plan('histories recorded before: Interrupted and WorkerLost without the flag fold and replay as they did, counted as failures', () => {
  const events = [
    ev.enqueued('job-old', 2),
    ev.started(1, 0),
    ev.interrupted(1, sec(1), sec(20), { old: true }),
    ev.reset('retry', sec(20)),
  ];
  events.push(ev.started(2, sec(21)), ev.interrupted(2, sec(22), undefined, { name: 'WorkerLost', old: true }));
  const r = replay(events);
  assert.ok(E.isRight(r), E.isLeft(r) ? r.left.message : '');
  const v = viewOf(events);
  assert.is(v.status, 'errored');
  assert.is(v.interruptions, undefined);
  assert.is(v.retryAt, undefined);
});

plan.run();
