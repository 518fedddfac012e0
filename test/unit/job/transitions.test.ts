// Table tests of the job state machine (docs/architecture.md#transitions): every transition function
// against every status, then the attempt-number rules one by one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import {
  cancel,
  evolve,
  initialJobState,
  isJobView,
  recordProgress,
  replay,
  resetToInitialState,
  setToCompleted,
  setToErrored,
  setToInitialState,
  setToInProgress,
  type EnqueueInput,
  type JobEvent,
  type JobState,
  type JobView,
  type Transition,
  type TransitionRejected,
} from '../../../src/job/index.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { at, checkRejection, ev, expectOne, expectRejected, foldAll, jobId, sec, T0 } from './jobTestKit.js';

const ID = 'job-table-1';
const MAX = 3;

/** One fixture per status (`none` included; errored with a retry and for good apart), each reached by a history written by hand. */
const histories = {
  none: [],
  initial: [ev.enqueued(ID, MAX)],
  in_progress: [
    ev.enqueued(ID, MAX),
    ev.started(1, sec(1)),
    ev.errored(1, sec(2), sec(60)),
    ev.reset('retry', sec(60)),
    ev.started(2, sec(61)),
  ],
  errored_with_retry: [ev.enqueued(ID, MAX), ev.started(1, sec(1)), ev.errored(1, sec(2), sec(60))],
  errored_for_good: [
    ev.enqueued(ID, MAX),
    ev.started(1, sec(1)),
    ev.errored(1, sec(2), sec(60)),
    ev.reset('retry', sec(60)),
    ev.started(2, sec(61)),
    ev.errored(2, sec(62), sec(120)),
    ev.reset('retry', sec(120)),
    ev.started(3, sec(121)),
    ev.errored(3, sec(122)),
  ],
  completed: [ev.enqueued(ID, MAX), ev.started(1, sec(1)), ev.completed(1, sec(2))],
  cancelled: [ev.enqueued(ID, MAX), ev.cancelled(sec(1))],
} satisfies Record<string, JobEvent[]>;
type Fixture = keyof typeof histories;
const fixtures = Object.keys(histories) as Fixture[];
const stateOf = (f: Fixture): JobState => foldAll(histories[f]);
const view = (s: JobState): JobView => {
  if (!isJobView(s)) throw new Error('fixture has no stream');
  return s;
};
/** The attempt a command names: the one in progress, else the next one. */
const attemptFor = (s: JobState): number => (!isJobView(s) ? 1 : s.status === 'in_progress' ? s.attempts : s.attempts + 1);

const NOW = sec(600);
const enqueueInput: EnqueueInput = {
  jobId: jobId(ID),
  workerName: 'send-email',
  queue: 'mail',
  payload: { to: 'a@b.c', n: [1, 2] },
  maxAttempts: MAX as EnqueueInput['maxAttempts'],
  enqueuedAt: at(NOW),
  runAt: at(NOW + sec(30)),
  priority: 5,
  enqueuedBy: 'api',
};
const boom = { name: 'TypeError', message: 'x is not a function', stack: 'TypeError: x…' };

interface Command {
  readonly transition: Transition;
  readonly run: (s: JobState) => Either<TransitionRejected, readonly JobEvent[]>;
  /** The exact event the transition table prescribes, for the fixtures where the command is allowed. */
  readonly allowed: Partial<Record<Fixture, (s: JobState) => JobEvent>>;
}

const commands: Record<string, Command> = {
  enqueue: {
    transition: 'setToInitialState',
    run: (s) => setToInitialState(s, enqueueInput),
    allowed: {
      none: () => ({
        type: 'JobEnqueued',
        data: {
          jobId: jobId(ID),
          workerName: 'send-email',
          queue: 'mail',
          payload: { to: 'a@b.c', n: [1, 2] },
          maxAttempts: MAX as never,
          enqueuedAt: at(NOW),
          runAt: at(NOW + sec(30)),
          priority: 5,
          enqueuedBy: 'api',
        },
      }),
    },
  },
  start: {
    transition: 'setToInProgress',
    run: (s) => setToInProgress(s, { workerId: 'host:7:zz', backgroundJobId: 'amqp-msg-9', startedAt: at(NOW) }),
    allowed: {
      initial: () => ({
        type: 'JobStarted',
        data: { attempt: 1 as never, workerId: 'host:7:zz', backgroundJobId: 'amqp-msg-9', startedAt: at(NOW) },
      }),
    },
  },
  progress: {
    transition: 'recordProgress',
    run: (s) => recordProgress(s, { attempt: attemptFor(s), at: at(NOW), percent: 40, message: 'halfway' }),
    allowed: {
      in_progress: () => ({
        type: 'JobProgressed',
        data: { attempt: 2 as never, at: at(NOW), percent: 40, message: 'halfway' },
      }),
    },
  },
  complete: {
    transition: 'setToCompleted',
    run: (s) => setToCompleted(s, { attempt: attemptFor(s), completedAt: at(NOW), durationMs: 1234, result: { sent: 3 } }),
    allowed: {
      in_progress: () => ({
        type: 'JobCompleted',
        data: { attempt: 2 as never, completedAt: at(NOW), durationMs: 1234, result: { sent: 3 } },
      }),
    },
  },
  'error without retry': {
    transition: 'setToErrored',
    run: (s) => setToErrored(s, { attempt: attemptFor(s), erroredAt: at(NOW), error: boom, durationMs: 7 }),
    allowed: {
      // The job could not start (unknown worker, invalid payload): it errors as the next attempt.
      initial: () => ({ type: 'JobErrored', data: { attempt: 1 as never, erroredAt: at(NOW), error: boom, durationMs: 7 } }),
      in_progress: () => ({
        type: 'JobErrored',
        data: { attempt: 2 as never, erroredAt: at(NOW), error: boom, durationMs: 7 },
      }),
    },
  },
  'error with retry': {
    transition: 'setToErrored',
    run: (s) => setToErrored(s, { attempt: attemptFor(s), erroredAt: at(NOW), error: boom, retryAt: at(NOW + sec(75)) }),
    allowed: {
      in_progress: () => ({
        type: 'JobErrored',
        data: { attempt: 2 as never, erroredAt: at(NOW), error: boom, retryAt: at(NOW + sec(75)) },
      }),
    },
  },
  'reset manual': {
    transition: 'resetToInitialState',
    run: (s) => resetToInitialState(s, { at: at(NOW), reason: 'manual', by: 'oncall@example.com' }),
    allowed: Object.fromEntries(
      (['errored_with_retry', 'errored_for_good', 'completed', 'cancelled'] as const).map((f) => [
        f,
        (): JobEvent => ({ type: 'JobReset', data: { at: at(NOW), reason: 'manual', by: 'oncall@example.com' } }),
      ]),
    ),
  },
  'reset retry (due)': {
    transition: 'resetToInitialState',
    run: (s) => resetToInitialState(s, { at: at(NOW), reason: 'retry' }),
    allowed: { errored_with_retry: () => ({ type: 'JobReset', data: { at: at(NOW), reason: 'retry' } }) },
  },
  'reset recovered': {
    transition: 'resetToInitialState',
    run: (s) => resetToInitialState(s, { at: at(NOW), reason: 'recovered', by: 'recovery' }),
    allowed: {
      errored_with_retry: () => ({ type: 'JobReset', data: { at: at(NOW), reason: 'recovered', by: 'recovery' } }),
    },
  },
  cancel: {
    transition: 'cancel',
    run: (s) => cancel(s, { at: at(NOW), reason: 'customer left', by: 'ops' }),
    allowed: Object.fromEntries(
      (['initial', 'errored_with_retry', 'errored_for_good'] as const).map((f) => [
        f,
        (): JobEvent => ({ type: 'JobCancelled', data: { at: at(NOW), reason: 'customer left', by: 'ops' } }),
      ]),
    ),
  },
};

/** The status each event leads to ("status after" in docs/architecture.md#events). */
const statusAfter: Record<JobEvent['type'], (before: JobState) => JobState['status']> = {
  JobEnqueued: () => 'initial',
  JobReleased: () => 'initial',
  JobContinuationAdded: (before) => before.status,
  JobStarted: () => 'in_progress',
  JobProgressed: (before) => before.status,
  JobCompleted: () => 'completed',
  JobErrored: () => 'errored',
  JobReset: () => 'initial',
  JobCancelled: () => 'cancelled',
  JobCancelRequested: (before) => before.status,
  JobPurged: () => 'none',
  JobActionReturned: (before) => before.status,
};

const matrix = suite('job transitions: every function × every status');

matrix('the fixtures are valid histories with the intended statuses', () => {
  const expected: Record<Fixture, string> = {
    none: 'none',
    initial: 'initial',
    in_progress: 'in_progress',
    errored_with_retry: 'errored',
    errored_for_good: 'errored',
    completed: 'completed',
    cancelled: 'cancelled',
  };
  for (const f of fixtures) {
    const replayed = replay(histories[f]);
    assert.ok(E.isRight(replayed), `${f} replays`);
    if (E.isRight(replayed)) assert.equal(replayed.right, stateOf(f));
    assert.is(stateOf(f).status, expected[f]);
  }
  assert.is(view(stateOf('errored_with_retry')).retryAt, at(sec(60)));
  assert.is(view(stateOf('errored_for_good')).retryAt, undefined);
  assert.is(view(stateOf('errored_for_good')).attempts, MAX);
  assert.is(view(stateOf('in_progress')).attempts, 2);
});

for (const [name, command] of Object.entries(commands)) {
  for (const f of fixtures) {
    const expectedEvent = command.allowed[f];
    matrix(`${name} from ${f}: ${expectedEvent ? 'accepted' : 'rejected'}`, () => {
      const before = stateOf(f);
      const snapshot = structuredClone(before);
      const result = command.run(Object.freeze(before));
      assert.equal(before, snapshot, 'the state given in is left as it was');
      if (expectedEvent) {
        const event = expectOne(result);
        assert.equal(event, expectedEvent(before));
        assert.is(evolve(before, event).status, statusAfter[event.type](before));
        const replayed = replay([...histories[f], event]);
        assert.ok(E.isRight(replayed), 'the history with the new event replays');
      } else {
        checkRejection(expectRejected(result), command.transition, before);
      }
    });
  }
}

matrix('a few rejection messages, word for word', () => {
  assert.is(
    expectRejected(commands.cancel!.run(stateOf('in_progress'))).message,
    'cannot cancel job "job-table-1": it is in_progress (attempt 2); only initial, awaiting or errored jobs can be cancelled',
  );
  assert.is(
    expectRejected(commands.start!.run(stateOf('errored_with_retry'))).message,
    `cannot start job "job-table-1": it is errored (retry due at ${at(sec(60))}), not initial`,
  );
  assert.is(
    expectRejected(commands['reset manual']!.run(stateOf('initial'))).message,
    'cannot retry job "job-table-1": it is initial; only errored, completed or cancelled jobs can be retried',
  );
  assert.is(expectRejected(commands.complete!.run(stateOf('none'))).message, 'cannot complete the job: the job does not exist (no stream)');
});

matrix.run();

const attempts = suite('job transitions: attempt numbers and retries');

const inProgress = (): JobView => view(stateOf('in_progress'));

attempts('complete, progress or fail with another attempt than the one in progress is rejected', () => {
  const s = inProgress();
  for (const attempt of [1, 3, 0]) {
    const r1 = expectRejected(setToCompleted(s, { attempt, completedAt: at(NOW), durationMs: 1 }));
    checkRejection(r1, 'setToCompleted', s, { mustName: [`attempt ${attempt}`, 'attempt 2 is the one in progress'], status: false });
    const r2 = expectRejected(setToErrored(s, { attempt, erroredAt: at(NOW), error: boom }));
    checkRejection(r2, 'setToErrored', s, { mustName: [`attempt ${attempt}`, 'attempt 2'], status: false });
    const r3 = expectRejected(recordProgress(s, { attempt, at: at(NOW), percent: 10 }));
    checkRejection(r3, 'recordProgress', s, { mustName: [`attempt ${attempt}`, 'attempt 2'], status: false });
  }
});

attempts('start takes the previous attempt plus one, also after a retry and after a manual reset', () => {
  const startFrom = (events: readonly JobEvent[]) =>
    expectOne(setToInProgress(foldAll(events), { workerId: 'w', backgroundJobId: 'b', startedAt: at(NOW) }));
  const afterRetry = [...histories.errored_with_retry, ev.reset('retry', sec(60))];
  const afterManual = [...histories.errored_for_good, ev.reset('manual', sec(300))];
  const afterRecovered = [...histories.errored_with_retry, ev.reset('recovered', sec(30))];
  const afterUnstartable = [...histories.initial, ev.errored(1, sec(1)), ev.reset('manual', sec(2))];
  assert.equal(startFrom(histories.initial).data.attempt, 1);
  assert.equal(startFrom(afterRetry).data.attempt, 2);
  assert.equal(startFrom(afterRecovered).data.attempt, 2);
  assert.equal(startFrom(afterManual).data.attempt, 4);
  assert.equal(startFrom(afterUnstartable).data.attempt, 2);
});

attempts('a job that cannot start errors as attempt = attempts + 1, and schedules no retry', () => {
  const fresh = view(stateOf('initial'));
  const unknownWorker = { name: 'UnknownWorker', message: 'unknown worker "send-emial"; registered: send-email' };
  const e = expectOne(setToErrored(fresh, { attempt: 1, erroredAt: at(NOW), error: unknownWorker }));
  assert.equal(e, { type: 'JobErrored', data: { attempt: 1, erroredAt: at(NOW), error: unknownWorker } });
  const after = view(evolve(fresh, e));
  assert.is(after.status, 'errored');
  assert.is(after.attempts, 1);
  assert.equal(after.lastError, { ...unknownWorker, attempt: 1 });
  assert.is(after.retryAt, undefined);

  const afterRetry = view(foldAll([...histories.errored_with_retry, ev.reset('retry', sec(60))]));
  assert.is(expectOne(setToErrored(afterRetry, { attempt: 2, erroredAt: at(NOW), error: unknownWorker })).data.attempt, 2);
  for (const wrong of [1, 3]) {
    const r = expectRejected(setToErrored(afterRetry, { attempt: wrong, erroredAt: at(NOW), error: unknownWorker }));
    checkRejection(r, 'setToErrored', afterRetry, { mustName: [`attempt ${wrong}`, 'next attempt is 2'] });
  }
  // Attempts remain (1 of 3 used), yet a job that could not start is not retried.
  const r = expectRejected(setToErrored(afterRetry, { attempt: 2, erroredAt: at(NOW), error: unknownWorker, retryAt: at(NOW + sec(60)) }));
  checkRejection(r, 'setToErrored', afterRetry, { mustName: ['could not start'] });
});

attempts('a retry is scheduled only while attempts remain', () => {
  const fail = (events: readonly JobEvent[], attempt: number) =>
    setToErrored(foldAll(events), { attempt, erroredAt: at(NOW), error: boom, retryAt: at(NOW + sec(60)) });
  // attempt 1 and 2 of 3: retries allowed
  expectOne(fail(histories.errored_with_retry.slice(0, 2), 1));
  expectOne(fail(histories.in_progress, 2));
  // attempt 3 of 3: no retry, but failing for good is allowed
  const third = histories.errored_for_good.slice(0, -1);
  const s3 = view(foldAll(third));
  assert.is(s3.status, 'in_progress');
  const r = expectRejected(fail(third, 3));
  checkRejection(r, 'setToErrored', s3, { mustName: ['attempt 3', 'last of 3'], status: false });
  expectOne(setToErrored(s3, { attempt: 3, erroredAt: at(NOW), error: boom }));
  // maxAttempts 1: the first attempt is the last
  const single = [ev.enqueued('job-single', 1), ev.started(1, sec(1))];
  expectRejected(fail(single, 1));
  const lastFailure = expectOne(setToErrored(foldAll(single), { attempt: 1, erroredAt: at(NOW), error: boom }));
  assert.is(view(foldAll([...single, lastFailure])).retryAt, undefined);
});

attempts('a manual reset grants a fresh budget of maxAttempts, counted from attemptBase', () => {
  let history: JobEvent[] = [...histories.errored_for_good];
  const reset = expectOne(resetToInitialState(foldAll(history), { at: at(sec(300)), reason: 'manual', by: 'ops' }));
  history = [...history, reset];
  const afterReset = view(foldAll(history));
  assert.is(afterReset.status, 'initial');
  assert.is(afterReset.attempts, 3);
  assert.is(afterReset.attemptBase, 3);
  assert.equal(afterReset.lastReset, { at: at(sec(300)), reason: 'manual', by: 'ops' });
  // attempts 4 and 5 may schedule retries, attempt 6 (the third of the new budget) may not
  let t = sec(301);
  for (const attempt of [4, 5, 6]) {
    const started = expectOne(setToInProgress(foldAll(history), { workerId: 'w', backgroundJobId: `b${attempt}`, startedAt: at(t) }));
    assert.is(started.data.attempt, attempt);
    history = [...history, started];
    const retry = setToErrored(foldAll(history), { attempt, erroredAt: at(t + 1), error: boom, retryAt: at(t + 2) });
    if (attempt < 6) {
      history = [...history, expectOne(retry)];
      history = [...history, expectOne(resetToInitialState(foldAll(history), { at: at(t + 2), reason: 'retry' }))];
    } else {
      checkRejection(expectRejected(retry), 'setToErrored', foldAll(history), { mustName: ['attempt 6'], status: false });
    }
    t += sec(10);
  }
  assert.ok(E.isRight(replay(history)));
  // A manual reset of a completed job also starts a fresh budget, and a second completion is allowed.
  const again = [...histories.completed, ev.reset('manual', sec(10)), ev.started(2, sec(11))];
  assert.is(view(foldAll(again)).attemptBase, 1);
  expectOne(setToCompleted(foldAll(again), { attempt: 2, completedAt: at(sec(12)), durationMs: 1000 }));
});

attempts('a retry reset is rejected before retryAt and accepted at or after it, whatever the offset', () => {
  const s = view(stateOf('errored_with_retry'));
  const due = T0 + sec(60);
  const early = expectRejected(resetToInitialState(s, { at: new Date(due - 1).toISOString() as never, reason: 'retry' }));
  checkRejection(early, 'resetToInitialState', s, { mustName: [`the retry is due at ${s.retryAt}`], status: false });
  const earlyWithOffset = `${new Date(due - 1 + 2 * 3600_000).toISOString().slice(0, 23)}+02:00`;
  expectRejected(resetToInitialState(s, { at: earlyWithOffset as never, reason: 'retry' }));
  for (const when of [
    new Date(due).toISOString(),
    new Date(due + 1).toISOString(),
    new Date(due + 86_400_000).toISOString(),
    `${new Date(due - 5.5 * 3600_000).toISOString().slice(0, 23)}-05:30`,
  ]) {
    const e = expectOne(resetToInitialState(s, { at: when as never, reason: 'retry' }));
    assert.equal(e, { type: 'JobReset', data: { at: when, reason: 'retry' } });
    const after = view(evolve(s, e));
    assert.is(after.status, 'initial');
    assert.is(after.retryAt, undefined);
    assert.is(after.attemptBase, 0, 'a retry keeps the budget');
  }
});

attempts('a recovered reset is accepted early, and keeps the budget', () => {
  const s = view(stateOf('errored_with_retry'));
  const e = expectOne(resetToInitialState(s, { at: at(sec(3)), reason: 'recovered' }));
  assert.equal(e, { type: 'JobReset', data: { at: at(sec(3)), reason: 'recovered' } });
  const after = view(evolve(s, e));
  assert.is(after.attemptBase, 0);
  assert.is(after.status, 'initial');
  // but not a job that failed for good: nothing is scheduled to recover
  const final = stateOf('errored_for_good');
  checkRejection(expectRejected(resetToInitialState(final, { at: at(NOW), reason: 'recovered' })), 'resetToInitialState', final);
});

attempts('cancel is rejected for in_progress, completed and cancelled, with the status named', () => {
  for (const f of ['in_progress', 'completed', 'cancelled'] as const) {
    const s = stateOf(f);
    checkRejection(expectRejected(cancel(s, { at: at(NOW) })), 'cancel', s, { mustName: ['only initial, awaiting or errored'] });
  }
  const cancelled = view(evolve(stateOf('errored_with_retry'), expectOne(cancel(stateOf('errored_with_retry'), { at: at(NOW) }))));
  assert.is(cancelled.status, 'cancelled');
  assert.is(cancelled.retryAt, undefined, 'a cancelled job has no retry scheduled');
  assert.is(cancelled.cancelledAt, at(NOW));
});

attempts('progress with a percent outside 0..100 is rejected, not turned into an event the codec refuses', () => {
  const s = inProgress();
  for (const percent of [-1, 100.5, Number.POSITIVE_INFINITY]) {
    const r = expectRejected(recordProgress(s, { attempt: 2, at: at(NOW), percent }));
    checkRejection(r, 'recordProgress', s, { mustName: [`percent ${percent}`, 'between 0 and 100'], status: false });
  }
  // the value is named as it came, even when it is not a number
  assert.is(
    expectRejected(recordProgress(s, { attempt: 2, at: at(NOW), percent: Number.NaN })).message,
    'cannot record progress of job "job-table-1" attempt 2: percent NaN is not between 0 and 100',
  );
  for (const percent of [0, 100, 33.3]) expectOne(recordProgress(s, { attempt: 2, at: at(NOW), percent }));
});

attempts('replay names the first event that breaks the table', () => {
  const history = [...histories.completed, ev.completed(1, sec(3))];
  const r = replay(history);
  assert.ok(E.isLeft(r));
  if (E.isLeft(r)) {
    assert.is(r.left._tag, 'InvalidHistory');
    assert.is(r.left.index, 3);
    assert.equal(r.left.event, history[3]);
    assert.is(r.left.rejection.status, 'completed');
    assert.match(r.left.message, /^event 3 \(JobCompleted\) is not a valid transition: cannot complete job "job-table-1"/);
  }
  const skipped = replay([ev.enqueued(ID, MAX), ev.started(2, sec(1))]);
  assert.ok(
    E.isLeft(skipped) &&
      skipped.left.index === 1 &&
      skipped.left.message ===
        'event 1 (JobStarted) is not a valid transition: cannot start job "job-table-1" as attempt 2: it is initial and its next attempt is 1',
  );
  assert.equal(replay([]), E.right(initialJobState));
});

attempts.run();
