// Cancelling a running job (issue 22): `requestCancel` on an in_progress job records JobCancelRequested,
// the state keeps the request while the attempt runs, and the attempt ends as JobCancelled
// (`setToCancelled`), or as JobCompleted when the action still returned a result; never as JobErrored.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import {
  cancel,
  cancelRequestedFor,
  evolve,
  fold,
  isFinal,
  JobEvent as JobEventCodec,
  recordProgress,
  replay,
  requestCancel,
  setToCancelled,
  setToCompleted,
  setToErrored,
  type JobEvent,
  type JobState,
  type JobView,
} from '../../../src/job/index.js';
import { at, ev, sec } from './jobTestKit.js';

const test = suite('job: cancel a running attempt');
const ID = 'cancel-run-1';

const running: JobEvent[] = [ev.enqueued(ID, 3), ev.started(1, sec(1))];
const view = (s: JobState): JobView => {
  if (s.status === 'none') throw new Error('no view');
  return s;
};
const requested = (attempt = 1, t = sec(2)): JobEvent => ({
  type: 'JobCancelRequested',
  data: { attempt: attempt as never, at: at(t), by: 'ada', reason: 'customer left' },
});
const ok = <A>(r: E.Either<{ message: string }, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

test('requestCancel on in_progress yields JobCancelRequested for the running attempt; the status stays in_progress', () => {
  const s = fold(running);
  const [e] = ok(requestCancel(s, { attempt: 1, at: at(sec(2)), by: 'ada', reason: 'customer left' }));
  assert.equal(e, requested());
  assert.ok(E.isRight(JobEventCodec.decode(e)), 'the event passes its codec');
  const after = view(evolve(s, e));
  assert.is(after.status, 'in_progress');
  assert.equal(after.cancelRequested, { at: at(sec(2)), attempt: 1, by: 'ada', reason: 'customer left' });
  assert.is(after.updatedAt, at(sec(2)));
  assert.ok(cancelRequestedFor(after, 1));
  assert.not.ok(cancelRequestedFor(after, 2));
  assert.not.ok(isFinal(after));
});

test('a second request for the same attempt is refused, naming the first', () => {
  const s = fold([...running, requested()]);
  const r = requestCancel(s, { attempt: 1, at: at(sec(3)), by: 'bob' });
  assert.ok(E.isLeft(r));
  if (E.isLeft(r)) {
    assert.is(r.left.transition, 'requestCancel');
    assert.match(r.left.message, /requested already at 2026-11-28T10:00:02\.000Z by ada/);
  }
});

test('requestCancel is refused for another attempt and for jobs that are not running', () => {
  assert.ok(E.isLeft(requestCancel(fold(running), { attempt: 2, at: at(sec(2)) })));
  for (const history of [[ev.enqueued(ID, 3)], [...running, ev.completed(1, sec(3))], [...running, ev.errored(1, sec(3), sec(60))]]) {
    const r = requestCancel(fold(history), { attempt: 1, at: at(sec(4)) });
    assert.ok(E.isLeft(r), `refused from ${fold(history).status}`);
  }
  assert.ok(E.isLeft(requestCancel({ status: 'none' }, { attempt: 1, at: at() })));
});

test('cancel (at once) still refuses a running job: its attempt is ended by setToCancelled', () => {
  assert.ok(E.isLeft(cancel(fold(running), { at: at(sec(2)) })));
  assert.ok(E.isLeft(cancel(fold([...running, requested()]), { at: at(sec(2)) })));
});

test('setToCancelled ends the attempt as JobCancelled with the request’s reason and by; the request is cleared', () => {
  const s = fold([...running, requested()]);
  const [e] = ok(setToCancelled(s, { attempt: 1, at: at(sec(5)) }));
  assert.equal(e, { type: 'JobCancelled', data: { at: at(sec(5)), attempt: 1 as never, reason: 'customer left', by: 'ada' } });
  const after = view(evolve(s, e));
  assert.is(after.status, 'cancelled');
  assert.is(after.cancelledAt, at(sec(5)));
  assert.is(after.cancelReason, 'customer left');
  assert.is(after.cancelRequested, undefined);
  assert.ok(isFinal(after));
});

test('setToCancelled is refused without a request, or for another attempt', () => {
  assert.ok(E.isLeft(setToCancelled(fold(running), { attempt: 1, at: at(sec(5)) })));
  assert.ok(E.isLeft(setToCancelled(fold([...running, requested()]), { attempt: 2, at: at(sec(5)) })));
});

test('after a request: progress and a completion are still recorded; an error is refused (it ends cancelled)', () => {
  const s = fold([...running, requested()]);
  assert.ok(E.isRight(recordProgress(s, { attempt: 1, at: at(sec(3)), percent: 50 })));
  const [done] = ok(setToCompleted(s, { attempt: 1, completedAt: at(sec(4)), durationMs: 3000, result: { partial: false } }));
  const completed = view(evolve(s, done));
  assert.is(completed.status, 'completed');
  assert.is(completed.cancelRequested, undefined);
  const r = setToErrored(s, { attempt: 1, erroredAt: at(sec(4)), error: { name: 'AbortError', message: 'aborted' }, retryAt: at(sec(60)) });
  assert.ok(E.isLeft(r));
  if (E.isLeft(r)) assert.match(r.left.message, /cancel was requested/);
});

test('replay accepts the histories of a cancelled running job and refuses the ones that break the rules', () => {
  const cancelled: JobEvent = { type: 'JobCancelled', data: { at: at(sec(5)), attempt: 1 as never, reason: 'customer left', by: 'ada' } };
  const valid: JobEvent[][] = [
    [...running, requested(), cancelled],
    [...running, requested(), ev.completed(1, sec(5))],
    [...running, requested(), { type: 'JobProgressed', data: { attempt: 1 as never, at: at(sec(3)), percent: 50 } }, cancelled],
  ];
  for (const h of valid) {
    const r = replay(h);
    assert.ok(E.isRight(r), E.isLeft(r) ? r.left.message : '');
    if (E.isRight(r)) assert.equal(r.right, fold(h));
  }
  const invalid: [string, JobEvent[]][] = [
    ['a request twice', [...running, requested(), requested(1, sec(3))]],
    ['an error after a request', [...running, requested(), ev.errored(1, sec(5), sec(60))]],
    ['a request for another attempt', [...running, requested(2)]],
    ['a request of a waiting job', [ev.enqueued(ID, 3), requested()]],
    ['an attempt cancelled without a request', [...running, cancelled]],
    ['a cancel naming an attempt while waiting', [ev.enqueued(ID, 3), cancelled]],
  ];
  for (const [what, h] of invalid) assert.ok(E.isLeft(replay(h)), `${what} is refused`);
});

test('the next attempt starts without the request of the previous one', () => {
  // A request, then the action still completed; a manual retry; the new attempt has no request.
  const h: JobEvent[] = [
    ...running,
    requested(),
    ev.completed(1, sec(4)),
    { type: 'JobReset', data: { at: at(sec(10)), reason: 'manual', by: 'ada' } },
    ev.started(2, sec(11)),
  ];
  const r = replay(h);
  assert.ok(E.isRight(r));
  if (E.isRight(r)) assert.is(view(r.right).cancelRequested, undefined);
});

test.run();
