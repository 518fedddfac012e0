// Shared by the job unit tests: times, raw events written from docs/architecture.md#events
// (not produced by the code under test), and the checks every rejection must pass.
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import {
  fold,
  isJobView,
  type IsoDate,
  type JobEvent,
  type JobId,
  type JobState,
  type Transition,
  type TransitionRejected,
} from '../../../src/job/index.js';

export const T0 = Date.parse('2026-11-28T10:00:00.000Z');

/** The IsoDate `ms` milliseconds after T0. */
export const at = (ms = 0): IsoDate => new Date(T0 + ms).toISOString() as IsoDate;

/** An instant as ISO text with a fixed offset in minutes (`Z` for 0). */
export const isoWithOffset = (epochMs: number, offsetMin: number): IsoDate => {
  if (offsetMin === 0) return new Date(epochMs).toISOString() as IsoDate;
  const local = new Date(epochMs + offsetMin * 60_000).toISOString().slice(0, 23);
  const abs = Math.abs(offsetMin);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local}${offsetMin < 0 ? '-' : '+'}${hh}:${mm}` as IsoDate;
};

export const sec = (n: number): number => n * 1000;

export const jobId = (s: string): JobId => s as JobId;

/** Raw events, built by hand so fixtures do not depend on the transition functions. */
export const ev = {
  enqueued: (id: string, maxAttempts: number, t = 0): JobEvent => ({
    type: 'JobEnqueued',
    data: {
      jobId: jobId(id),
      workerName: 'send-email',
      queue: 'default',
      payload: { to: 'a@b.c' },
      maxAttempts: maxAttempts as never,
      enqueuedAt: at(t),
    },
  }),
  started: (attempt: number, t: number): JobEvent => ({
    type: 'JobStarted',
    data: { attempt: attempt as never, workerId: 'host:42:abc', backgroundJobId: `msg-${attempt}`, startedAt: at(t) },
  }),
  completed: (attempt: number, t: number): JobEvent => ({
    type: 'JobCompleted',
    data: { attempt: attempt as never, completedAt: at(t), durationMs: 1000 },
  }),
  errored: (attempt: number, t: number, retryAtMs?: number): JobEvent => ({
    type: 'JobErrored',
    data: {
      attempt: attempt as never,
      erroredAt: at(t),
      error: { name: 'Error', message: `boom ${attempt}` },
      durationMs: 1000,
      ...(retryAtMs !== undefined ? { retryAt: at(retryAtMs) } : {}),
    },
  }),
  /** An attempt cut short by a shutdown (`Interrupted`) or a lost process (`WorkerLost`); `old`: as recorded before `interrupted` existed. */
  interrupted: (attempt: number, t: number, retryAtMs?: number, options: { name?: string; old?: boolean } = {}): JobEvent => ({
    type: 'JobErrored',
    data: {
      attempt: attempt as never,
      erroredAt: at(t),
      error: { name: options.name ?? 'Interrupted', message: `attempt ${attempt} was aborted because the process shut down` },
      durationMs: 1000,
      ...(retryAtMs !== undefined ? { retryAt: at(retryAtMs) } : {}),
      ...(options.old === true ? {} : { interrupted: true }),
    },
  }),
  reset: (reason: 'retry' | 'manual' | 'recovered', t: number): JobEvent => ({
    type: 'JobReset',
    data: { at: at(t), reason },
  }),
  cancelled: (t: number): JobEvent => ({ type: 'JobCancelled', data: { at: at(t), reason: 'not needed' } }),
};

export const foldAll = (events: readonly JobEvent[]): JobState => fold(events);

/** Right and return the single event, or fail showing the rejection. */
export const expectOne = <A>(r: Either<TransitionRejected, readonly A[]>): A => {
  if (E.isLeft(r)) assert.unreachable(`expected the transition to be accepted, got: ${r.left.message}`);
  const events = (r as E.Right<readonly A[]>).right;
  assert.is(events.length, 1, 'a transition appends exactly one event');
  return events[0] as A;
};

/** Left and return the rejection, or fail showing the event that was produced. */
export const expectRejected = <A>(r: Either<TransitionRejected, readonly A[]>): TransitionRejected => {
  if (E.isRight(r)) assert.unreachable(`expected a rejection, got: ${JSON.stringify(r.right)}`);
  return (r as E.Left<TransitionRejected>).left;
};

/** The word for a status that a person reads in a message. */
export const statusWord = (state: JobState): string => (state.status === 'none' ? 'does not exist' : state.status);

/**
 * Every rejection: tagged, names its transition and the state's status and
 * job id, and its message reads as a sentence for a person.
 */
export const checkRejection = (
  rejection: TransitionRejected,
  transition: Transition,
  state: JobState,
  options: { readonly mustName?: readonly string[]; readonly status?: boolean } = {},
): void => {
  assert.is(rejection._tag, 'TransitionRejected');
  assert.is(rejection.transition, transition);
  assert.is(rejection.status, state.status);
  assert.is(rejection.jobId, isJobView(state) ? state.jobId : undefined);
  checkReadable(rejection.message);
  if (isJobView(state)) assert.ok(rejection.message.includes(`"${state.jobId}"`), `names the job id: ${rejection.message}`);
  else assert.ok(rejection.message.includes('no stream'), `says there is no stream: ${rejection.message}`);
  if (options.status !== false)
    assert.ok(rejection.message.includes(statusWord(state)), `names the status ${statusWord(state)}: ${rejection.message}`);
  for (const s of options.mustName ?? []) assert.ok(rejection.message.includes(s), `names ${s}: ${rejection.message}`);
};

/** A sentence a person can read: no leaked `undefined`, `NaN`, objects or template holes. */
export const checkReadable = (message: string): void => {
  assert.match(message, /^cannot [a-z]/, `starts with "cannot ...": ${message}`);
  assert.not.match(message, /undefined|NaN|\[object|\$\{|null|_tag/, `no leaked values: ${message}`);
  assert.not.match(message, /\s{2,}|\s$/, `no stray spaces: ${message}`);
  assert.ok(message.length < 240, `short enough to read: ${message}`);
};
