// Property tests of the job state machine: random sequences of commands, valid
// and invalid, run through the transition functions; the history they leave
// must replay to the state the write side saw. The verdict of every command is
// checked against a small model of the transition table, written here, not taken from src.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import {
  addContinuation,
  cancel,
  evolve,
  fold,
  initialJobState,
  eventTime,
  isFinal,
  isJobView,
  JobEvent,
  JobStatuses,
  recordProgress,
  release,
  replay,
  resetToInitialState,
  setToCompleted,
  setToErrored,
  setToInitialState,
  setToInProgress,
  type EnqueueInput,
  type IsoDate,
  type JobId,
  type JobState,
  type ResetReason,
  type Transition,
  type TransitionRejected,
} from '../../../src/job/index.js';
import { checkReadable, isoWithOffset, T0 } from './jobTestKit.js';

const RUNS = 1500;

// ---------------------------------------------------------------- commands

type AttemptChoice = { readonly kind: 'current' } | { readonly kind: 'next' } | { readonly kind: 'exactly'; readonly n: number };

interface Timing {
  /** Milliseconds the clock moves before the command. */
  readonly dt: number;
  /** The offset, in minutes, the command writes its times with. */
  readonly offset: number;
}

type Command = Timing &
  (
    | {
        readonly kind: 'enqueue';
        readonly maxAttempts: number;
        readonly queue: string;
        readonly payload: unknown;
        readonly runInMs?: number;
        readonly priority?: number;
        readonly enqueuedBy?: string;
        readonly after?: readonly string[];
        readonly on?: 'completed' | 'finished';
        readonly maxInterruptions?: number;
      }
    | { readonly kind: 'start'; readonly workerId: string; readonly backgroundJobId: string }
    | { readonly kind: 'progress'; readonly attempt: AttemptChoice; readonly percent?: number; readonly message?: string }
    | { readonly kind: 'complete'; readonly attempt: AttemptChoice; readonly durationMs: number; readonly result?: unknown }
    | {
        readonly kind: 'error';
        readonly attempt: AttemptChoice;
        readonly error: { readonly name: string; readonly message: string; readonly stack?: string };
        readonly durationMs?: number;
        readonly retryInMs?: number;
        /** A shutdown or a lost process: counted apart from maxAttempts, up to maxInterruptions. */
        readonly interrupted?: boolean;
      }
    | {
        readonly kind: 'reset';
        readonly reason: ResetReason;
        readonly when: 'now' | 'beforeRetry' | 'atRetry' | 'afterRetry';
        readonly by?: string;
      }
    | { readonly kind: 'cancel'; readonly reason?: string; readonly by?: string }
    | {
        readonly kind: 'release';
        /** The status given for each parent, by position; `drop`: leave the first parent out; `extra`: name one more. */
        readonly statuses: readonly ('completed' | 'errored' | 'cancelled')[];
        readonly drop: boolean;
        readonly extra: boolean;
      }
    | { readonly kind: 'link'; readonly child: string }
  );

const opt = <A>(arb: fc.Arbitrary<A>) => fc.option(arb, { nil: undefined, freq: 2 });
const timing = { dt: fc.integer({ min: 0, max: 3_600_000 }), offset: fc.constantFrom(0, 0, 0, 120, -330) };
const attemptChoice: fc.Arbitrary<AttemptChoice> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ kind: 'current' } as const) },
  { weight: 1, arbitrary: fc.constant({ kind: 'next' } as const) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 9 }).map((n) => ({ kind: 'exactly', n }) as const) },
);
const text = fc.string({ maxLength: 12 });

const enqueueCommand: fc.Arbitrary<Command> = fc.record(
  {
    kind: fc.constant('enqueue' as const),
    ...timing,
    maxAttempts: fc.integer({ min: 1, max: 4 }),
    queue: fc.constantFrom('default', 'mail'),
    payload: fc.jsonValue({ maxDepth: 2 }),
    runInMs: fc.integer({ min: 0, max: 86_400_000 }),
    priority: fc.integer({ min: -5, max: 5 }),
    enqueuedBy: text,
    // a continuation; a duplicate parent, or `on` alone, is refused
    after: fc.array(fc.constantFrom('p-1', 'p-2', 'p-3'), { minLength: 0, maxLength: 3 }),
    on: fc.constantFrom('completed' as const, 'finished' as const),
    // small bounds, so that runs reach them; a few the codec refuses
    maxInterruptions: fc.oneof(
      { weight: 9, arbitrary: fc.integer({ min: 0, max: 3 }) },
      { weight: 1, arbitrary: fc.constantFrom(-1, 1.5) },
    ),
  },
  { requiredKeys: ['kind', 'dt', 'offset', 'maxAttempts', 'queue', 'payload'] },
);
const releaseCommand: fc.Arbitrary<Command> = fc.record({
  kind: fc.constant('release' as const),
  ...timing,
  statuses: fc.array(fc.constantFrom('completed' as const, 'completed' as const, 'errored' as const, 'cancelled' as const), {
    minLength: 3,
    maxLength: 3,
  }),
  drop: fc.constantFrom(false, false, false, true),
  extra: fc.constantFrom(false, false, false, true),
});
const linkCommand: fc.Arbitrary<Command> = fc.record({
  kind: fc.constant('link' as const),
  ...timing,
  child: fc.constantFrom('c-1', 'c-2', 'c-3', 'SELF'),
});

const startCommand: fc.Arbitrary<Command> = fc.record({
  kind: fc.constant('start' as const),
  ...timing,
  workerId: fc.constantFrom('host-a:101:x1', 'host-b:7:y2'),
  backgroundJobId: fc.string({ minLength: 1, maxLength: 10 }),
});
const progressCommand: fc.Arbitrary<Command> = fc.record(
  {
    kind: fc.constant('progress' as const),
    ...timing,
    attempt: attemptChoice,
    percent: fc.oneof(
      { weight: 4, arbitrary: fc.double({ min: 0, max: 100, noNaN: true }) },
      { weight: 1, arbitrary: fc.constantFrom(-1, -0.001, 100.001, 250, Number.NaN, Number.POSITIVE_INFINITY) },
    ),
    message: text,
  },
  { requiredKeys: ['kind', 'dt', 'offset', 'attempt'] },
);
const completeCommand: fc.Arbitrary<Command> = fc.record(
  {
    kind: fc.constant('complete' as const),
    ...timing,
    attempt: attemptChoice,
    durationMs: fc.nat({ max: 10_000_000 }),
    result: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: ['kind', 'dt', 'offset', 'attempt', 'durationMs'] },
);
const errorCommand = fc.record(
  {
    kind: fc.constant('error' as const),
    ...timing,
    // more often the next attempt: a job that cannot start errors as attempts + 1
    attempt: fc.oneof(attemptChoice, fc.constant({ kind: 'next' } as const)),
    error: fc.record(
      { name: fc.constantFrom('Error', 'TypeError', 'UnknownWorker', 'WorkerLost'), message: text, stack: text },
      { requiredKeys: ['name', 'message'] },
    ),
    durationMs: fc.nat({ max: 10_000_000 }),
    retryInMs: fc.integer({ min: 0, max: 7_200_000 }),
    interrupted: fc.boolean(),
  },
  { requiredKeys: ['kind', 'dt', 'offset', 'attempt', 'error'] },
);
const resetCommand: fc.Arbitrary<Command> = fc.record(
  {
    kind: fc.constant('reset' as const),
    ...timing,
    reason: fc.constantFrom<ResetReason>('retry', 'retry', 'manual', 'recovered'),
    when: fc.constantFrom('now', 'beforeRetry', 'atRetry', 'afterRetry'),
    by: text,
  },
  { requiredKeys: ['kind', 'dt', 'offset', 'reason', 'when'] },
);
const cancelCommand: fc.Arbitrary<Command> = fc.record(
  { kind: fc.constant('cancel' as const), ...timing, reason: text, by: text },
  { requiredKeys: ['kind', 'dt', 'offset'] },
);

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 1, arbitrary: enqueueCommand },
  { weight: 4, arbitrary: startCommand },
  { weight: 3, arbitrary: progressCommand },
  { weight: 3, arbitrary: completeCommand },
  { weight: 4, arbitrary: errorCommand },
  { weight: 4, arbitrary: resetCommand },
  { weight: 1, arbitrary: cancelCommand },
  { weight: 2, arbitrary: releaseCommand },
  { weight: 1, arbitrary: linkCommand },
);

/**
 * An attempt that fails, asks for a retry, and is then reset somehow: single
 * random commands reach a scheduled retry followed by a reset too rarely.
 */
const failedAttempt: fc.Arbitrary<Command[]> = fc.tuple(
  startCommand,
  errorCommand.map((c): Command => ({ ...c, attempt: { kind: 'current' }, retryInMs: c.retryInMs ?? 60_000 })),
  resetCommand,
);

/** An attempt mostly interrupted by a deploy (or a lost process), mostly with a retry taken: runs of them reach the bound of interruptions. */
const interruptedAttempt: fc.Arbitrary<Command[]> = fc.tuple(
  startCommand,
  errorCommand.map((c): Command => ({ ...c, attempt: { kind: 'current' }, interrupted: c.interrupted !== false })),
  resetCommand.map((c): Command => (c.kind === 'reset' ? { ...c, reason: 'retry', when: 'atRetry' } : c)),
);

/** An attempt that completes, then a manual retry: with the interrupted attempts in the mix, two completions need the help. */
const completedThenRetried: fc.Arbitrary<Command[]> = fc.tuple(
  startCommand,
  completeCommand.map((c): Command => ({ ...c, attempt: { kind: 'current' } }) as Command),
  resetCommand.map((c): Command => (c.kind === 'reset' ? { ...c, reason: 'manual' } : c)),
);

const steps = (maxLength: number): fc.Arbitrary<Command[]> =>
  fc
    .array(
      fc.oneof(
        { weight: 15, arbitrary: command.map((c) => [c]) },
        { weight: 3, arbitrary: failedAttempt },
        { weight: 2, arbitrary: interruptedAttempt },
        { weight: 1, arbitrary: completedThenRetried },
      ),
      {
        maxLength,
        size: 'max',
      },
    )
    .map((chunks) => chunks.flat());

/** Mostly start with an enqueue, so that most runs exercise a job that exists. */
const commands = fc.tuple(opt(enqueueCommand), steps(30)).map(([first, rest]) => (first === undefined ? rest : [first, ...rest]));

// ---------------------------------------------------------------- the model of docs/architecture.md#transitions

interface Model {
  readonly status: JobState['status'];
  readonly attempts: number;
  readonly base: number;
  readonly max: number;
  /** Interrupted attempts since the last manual reset, and how many are retried. */
  readonly interruptions: number;
  readonly maxInterruptions: number;
  readonly retryAtMs?: number;
  readonly jobId?: string;
  readonly after?: readonly string[];
  readonly on?: 'completed' | 'finished';
  readonly children?: readonly string[];
}
const noStream: Model = { status: 'none', attempts: 0, base: 0, max: 0, interruptions: 0, maxInterruptions: 0 };

/** The model after `e`, or `undefined` when the transition table does not allow `e` here (or the codec refuses it). */
const modelStep = (m: Model, e: JobEvent): Model | undefined => {
  if (E.isLeft(JobEvent.decode(e))) return undefined;
  switch (e.type) {
    case 'JobEnqueued': {
      const { after, on, jobId } = e.data;
      if (m.status !== 'none' || (on !== undefined && after === undefined) || after?.includes(jobId)) return undefined;
      return {
        status: after !== undefined ? 'awaiting' : 'initial',
        attempts: 0,
        base: 0,
        max: e.data.maxAttempts,
        interruptions: 0,
        maxInterruptions: e.data.maxInterruptions ?? 10,
        jobId,
        ...(after !== undefined ? { after, ...(on !== undefined ? { on } : {}) } : {}),
      };
    }
    case 'JobReleased': {
      const named = e.data.parents.map((p) => p.jobId);
      const after = m.after ?? [];
      const ok =
        m.status === 'awaiting' &&
        named.length === after.length &&
        after.every((id) => (named as readonly string[]).includes(id)) &&
        e.data.parents.every((p) => (m.on ?? 'completed') === 'finished' || p.status === 'completed');
      return ok ? { ...m, status: 'initial' } : undefined;
    }
    case 'JobContinuationAdded':
      return m.status !== 'none' && e.data.childJobId !== m.jobId && !(m.children ?? []).includes(e.data.childJobId)
        ? { ...m, children: [...(m.children ?? []), e.data.childJobId] }
        : undefined;
    case 'JobStarted':
      return m.status === 'initial' && e.data.attempt === m.attempts + 1
        ? { ...m, status: 'in_progress', attempts: e.data.attempt }
        : undefined;
    case 'JobProgressed':
      return m.status === 'in_progress' && e.data.attempt === m.attempts ? m : undefined;
    case 'JobCompleted':
      return m.status === 'in_progress' && e.data.attempt === m.attempts ? { ...m, status: 'completed' } : undefined;
    case 'JobErrored': {
      const running = m.status === 'in_progress' && e.data.attempt === m.attempts;
      const couldNotStart = m.status === 'initial' && e.data.attempt === m.attempts + 1 && e.data.retryAt === undefined;
      if (!running && !couldNotStart) return undefined;
      const interrupted = e.data.interrupted === true;
      // an attempt that could not start never ran, so it was not interrupted
      if (interrupted && !running) return undefined;
      // an interrupted attempt is retried while interruptions remain, whatever maxAttempts says; any other while attempts remain
      const used = e.data.attempt - m.base - m.interruptions;
      if (e.data.retryAt !== undefined && (interrupted ? m.interruptions >= m.maxInterruptions : used >= m.max)) return undefined;
      const { retryAtMs: _, ...rest } = m;
      return {
        ...rest,
        status: 'errored',
        attempts: e.data.attempt,
        interruptions: m.interruptions + (interrupted ? 1 : 0),
        ...(e.data.retryAt !== undefined ? { retryAtMs: Date.parse(e.data.retryAt) } : {}),
      };
    }
    case 'JobReset': {
      const { retryAtMs, ...rest } = m;
      const ok =
        e.data.reason === 'manual'
          ? m.status === 'errored' || m.status === 'completed' || m.status === 'cancelled'
          : m.status === 'errored' && retryAtMs !== undefined && (e.data.reason === 'recovered' || Date.parse(e.data.at) >= retryAtMs);
      if (!ok) return undefined;
      return e.data.reason === 'manual'
        ? { ...rest, status: 'initial', base: m.attempts, interruptions: 0 }
        : { ...rest, status: 'initial', base: m.base };
    }
    case 'JobCancelled': {
      const { retryAtMs: _, ...rest } = m;
      return m.status === 'initial' || m.status === 'awaiting' || m.status === 'errored' ? { ...rest, status: 'cancelled' } : undefined;
    }
  }
};

/** The model of a whole history, or the index of the first event the transition table does not allow. */
const modelHistory = (events: readonly JobEvent[]): { ok: true; model: Model } | { ok: false; index: number } => {
  let m = noStream;
  for (const [index, e] of events.entries()) {
    const next = modelStep(m, e);
    if (next === undefined) return { ok: false, index };
    m = next;
  }
  return { ok: true, model: m };
};

const agreesWithModel = (s: JobState, m: Model, where: string): void => {
  assert.is(s.status, m.status, `${where}: status`);
  if (!isJobView(s)) return;
  assert.is(s.attempts, m.attempts, `${where}: attempts`);
  assert.is(s.attemptBase, m.base, `${where}: attemptBase`);
  assert.is(s.maxAttempts, m.max, `${where}: maxAttempts`);
  assert.is(s.interruptions ?? 0, m.interruptions, `${where}: interruptions`);
  assert.ok(s.interruptions !== 0, `${where}: interruptions is absent rather than 0`);
  assert.is(s.maxInterruptions ?? 10, m.maxInterruptions, `${where}: maxInterruptions`);
  assert.is(s.retryAt === undefined ? undefined : Date.parse(s.retryAt), m.retryAtMs, `${where}: retryAt`);
};

// ---------------------------------------------------------------- the write side

const seen = new Map<string, number>();
const count = (label: string): void => {
  seen.set(label, (seen.get(label) ?? 0) + 1);
};

const iso = (ms: number, offset: number): IsoDate => isoWithOffset(ms, offset);
const currentAttempt = (s: JobState): number => (isJobView(s) ? s.attempts : 0);
const chooseAttempt = (c: AttemptChoice, s: JobState): number =>
  c.kind === 'current' ? currentAttempt(s) : c.kind === 'next' ? currentAttempt(s) + 1 : c.n;
const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

interface Decision {
  readonly transition: Transition;
  readonly result: Either<TransitionRejected, readonly JobEvent[]>;
  /** The event the transition table prescribes for this command, were it allowed. */
  readonly expected: JobEvent;
}

/** Runs one command through its transition function, with the event the design prescribes for it. */
const decide = (cmd: Command, s: JobState, jobId: JobId, clock: number): Decision => {
  const now = iso(clock, cmd.offset);
  switch (cmd.kind) {
    case 'enqueue': {
      const input: EnqueueInput = defined({
        jobId,
        workerName: 'send-email',
        queue: cmd.queue,
        payload: cmd.payload,
        maxAttempts: cmd.maxAttempts as EnqueueInput['maxAttempts'],
        enqueuedAt: now,
        runAt: cmd.runInMs === undefined ? undefined : iso(clock + cmd.runInMs, cmd.offset),
        priority: cmd.priority,
        enqueuedBy: cmd.enqueuedBy,
        after: cmd.after === undefined || cmd.after.length === 0 ? undefined : (cmd.after as JobId[]),
        on: cmd.after === undefined ? undefined : cmd.on,
        maxInterruptions: cmd.maxInterruptions,
      });
      return {
        transition: 'setToInitialState',
        result: setToInitialState(s, input),
        expected: { type: 'JobEnqueued', data: { ...input } as JobEvent['data'] & { jobId: JobId } } as JobEvent,
      };
    }
    case 'start': {
      const input = { workerId: cmd.workerId, backgroundJobId: cmd.backgroundJobId, startedAt: now };
      return {
        transition: 'setToInProgress',
        result: setToInProgress(s, input),
        expected: { type: 'JobStarted', data: { attempt: (currentAttempt(s) + 1) as never, ...input } },
      };
    }
    case 'progress': {
      const input = defined({ attempt: chooseAttempt(cmd.attempt, s), at: now, percent: cmd.percent, message: cmd.message });
      return { transition: 'recordProgress', result: recordProgress(s, input), expected: { type: 'JobProgressed', data: input as never } };
    }
    case 'complete': {
      const input = defined({ attempt: chooseAttempt(cmd.attempt, s), completedAt: now, durationMs: cmd.durationMs, result: cmd.result });
      return { transition: 'setToCompleted', result: setToCompleted(s, input), expected: { type: 'JobCompleted', data: input as never } };
    }
    case 'error': {
      const input = defined({
        attempt: chooseAttempt(cmd.attempt, s),
        erroredAt: now,
        error: cmd.error,
        durationMs: cmd.durationMs,
        retryAt: cmd.retryInMs === undefined ? undefined : iso(clock + cmd.retryInMs, cmd.offset),
        interrupted: cmd.interrupted === true ? true : undefined,
      });
      return { transition: 'setToErrored', result: setToErrored(s, input), expected: { type: 'JobErrored', data: input as never } };
    }
    case 'reset': {
      const due = isJobView(s) && s.retryAt !== undefined ? Date.parse(s.retryAt) : undefined;
      const ms =
        due === undefined || cmd.when === 'now'
          ? clock
          : cmd.when === 'beforeRetry'
            ? due - 1
            : cmd.when === 'atRetry'
              ? due
              : due + 1 + cmd.dt;
      const input = defined({ at: iso(ms, cmd.offset), reason: cmd.reason, by: cmd.by });
      return { transition: 'resetToInitialState', result: resetToInitialState(s, input), expected: { type: 'JobReset', data: input } };
    }
    case 'cancel': {
      const input = defined({ at: now, reason: cmd.reason, by: cmd.by });
      return { transition: 'cancel', result: cancel(s, input), expected: { type: 'JobCancelled', data: input } };
    }
    case 'release': {
      const after = isJobView(s) ? (s.after ?? []) : [];
      const named = [...(cmd.drop ? after.slice(1) : after), ...(cmd.extra ? ['p-9' as JobId] : [])];
      const input = { at: now, parents: named.map((jobId, i) => ({ jobId, status: cmd.statuses[i % cmd.statuses.length]! })) };
      return { transition: 'release', result: release(s, input), expected: { type: 'JobReleased', data: input } };
    }
    case 'link': {
      const input = { childJobId: (cmd.child === 'SELF' ? jobId : cmd.child) as JobId, at: now };
      return { transition: 'addContinuation', result: addContinuation(s, input), expected: { type: 'JobContinuationAdded', data: input } };
    }
  }
};

/** The label a decided command is counted under, to show the generators reach every case. */
const labelOf = (cmd: Command, d: Decision, s: JobState): string => {
  const outcome = E.isRight(d.result) ? 'accepted' : 'rejected';
  const e = d.expected;
  if (e.type === 'JobErrored')
    return `${outcome} ${e.data.interrupted === true ? 'interrupted ' : ''}error ${e.data.retryAt !== undefined ? 'with retry' : 'without retry'} from ${s.status}${
      e.data.retryAt !== undefined && isJobView(s) && s.attempts >= s.maxAttempts ? ' beyond maxAttempts' : ''
    }${e.data.interrupted === true && isJobView(s) && (s.interruptions ?? 0) >= (s.maxInterruptions ?? 10) ? ' past maxInterruptions' : ''}`;
  if (e.type === 'JobReset') {
    if (!isJobView(s) || s.retryAt === undefined) return `${outcome} reset ${e.data.reason} (${s.status}, nothing scheduled)`;
    const early = Date.parse(e.data.at) < Date.parse(s.retryAt);
    return `${outcome} reset ${e.data.reason} (${early ? 'before' : 'at or after'} retryAt)`;
  }
  return `${outcome} ${cmd.kind}`;
};

interface WriteSide {
  readonly history: JobEvent[];
  state: JobState;
  model: Model;
}

const statuses: readonly string[] = Object.values(JobStatuses);

/** What must hold of every folded state. */
const checkState = (s: JobState, last: JobEvent | undefined): void => {
  if (!isJobView(s)) {
    assert.is(last, undefined, 'no stream only before the first event');
    return;
  }
  assert.ok(statuses.includes(s.status), `status ${s.status} is one of the table`);
  assert.ok(Number.isInteger(s.attempts) && s.attemptBase >= 0 && s.attemptBase <= s.attempts, '0 ≤ attemptBase ≤ attempts');
  // interrupted attempts are not counted; one past the bound ends the job
  const ran = s.attempts - s.attemptBase;
  const used = ran - (s.interruptions ?? 0);
  assert.ok((s.interruptions ?? 0) <= (s.maxInterruptions ?? 10) + 1, 'at most maxInterruptions + 1 interruptions in a budget');
  assert.ok(used <= s.maxAttempts, `at most maxAttempts attempts in a budget: ${used} of ${s.maxAttempts}`);
  switch (s.status) {
    case 'initial':
      assert.ok(used < s.maxAttempts, 'a job waiting to start has an attempt left');
      break;
    case 'in_progress':
      assert.ok(ran >= 1, 'an attempt ran in this budget');
      assert.ok(s.startedAt !== undefined && s.workerId !== undefined && s.backgroundJobId !== undefined);
      assert.is(s.completedAt, undefined);
      break;
    case 'completed':
      assert.ok(ran >= 1, 'an attempt ran in this budget');
      assert.ok(s.completedAt !== undefined && s.durationMs !== undefined, 'a completed job has completedAt and durationMs');
      break;
    case 'errored':
      assert.ok(ran >= 1, 'an attempt ran in this budget');
      assert.ok(s.erroredAt !== undefined);
      assert.is(s.lastError?.attempt, s.attempts, 'the last error is of the last attempt');
      break;
    case 'cancelled':
      assert.ok(s.cancelledAt !== undefined);
      break;
  }
  if (s.retryAt !== undefined) {
    assert.is(s.status, 'errored', 'only an errored job has a retry scheduled');
    assert.ok(used < s.maxAttempts, 'a retry is scheduled only while attempts remain');
  }
  assert.is(isFinal(s), s.status === 'completed' || s.status === 'cancelled' || (s.status === 'errored' && s.retryAt === undefined));
  // The view carries the time the last event records as its own (`evolve` sets it case by case; `eventTime` reads it).
  assert.is(s.updatedAt, last === undefined ? undefined : eventTime(last));
};

/** What must hold of every history the write side leaves. */
const checkHistory = (history: readonly JobEvent[]): void => {
  if (history.length === 0) return;
  assert.is(history[0]?.type, 'JobEnqueued', 'a stream opens with JobEnqueued');
  assert.is(history.filter((e) => e.type === 'JobEnqueued').length, 1, 'and holds one');
  let lastStarted = 0;
  let highest = 0;
  let completedInBudget = 0;
  for (const e of history) {
    switch (e.type) {
      case 'JobStarted':
        assert.ok(e.data.attempt > lastStarted, 'attempts strictly increase across JobStarted');
        assert.is(e.data.attempt, highest + 1, 'no attempt number is skipped');
        lastStarted = highest = e.data.attempt;
        break;
      case 'JobProgressed':
        assert.is(e.data.attempt, lastStarted);
        break;
      case 'JobCompleted':
        assert.is(e.data.attempt, lastStarted);
        completedInBudget += 1;
        assert.ok(completedInBudget <= 1, 'at most one JobCompleted between manual resets');
        break;
      case 'JobErrored':
        assert.ok(e.data.attempt === lastStarted || (e.data.attempt === highest + 1 && e.data.retryAt === undefined));
        highest = Math.max(highest, e.data.attempt);
        break;
      case 'JobReset':
        if (e.data.reason === 'manual') completedInBudget = 0;
        break;
      default:
        break;
    }
  }
};

/** Encode then decode through the `JobEvent` codec, in memory and through JSON as a store keeps it. */
const checkRoundTrip = (e: JobEvent): void => {
  const encoded = JobEvent.encode(e);
  assert.equal(JobEvent.decode(encoded), E.right(e), `${e.type} round-trips`);
  const json = JSON.parse(JSON.stringify(encoded)) as unknown;
  assert.equal(JobEvent.decode(json), E.right(JSON.parse(JSON.stringify(e))), `${e.type} round-trips through JSON`);
};

/** Runs the commands as the write side would, checking each verdict and each state. */
const runCommands = (cmds: readonly Command[], jobId: JobId): WriteSide => {
  const w: WriteSide = { history: [], state: initialJobState, model: noStream };
  let clock = T0;
  for (const cmd of cmds) {
    clock += cmd.dt;
    const before = w.state;
    const snapshot = structuredClone(before);
    const lengthBefore = w.history.length;
    const d = decide(cmd, Object.freeze(before), jobId, clock);
    count(labelOf(cmd, d, before));
    const allowed = modelStep(w.model, d.expected);
    const where = `${cmd.kind} from ${before.status} (${JSON.stringify(d.expected)})`;
    assert.equal(before, snapshot, `${where}: the state given in is not changed`);
    if (E.isLeft(d.result)) {
      const r = d.result.left;
      assert.is(allowed, undefined, `${where}: rejected (${r.message}) but the transition table allows it`);
      assert.is(r._tag, 'TransitionRejected');
      assert.is(r.transition, d.transition);
      assert.is(r.status, before.status);
      assert.is(r.jobId, isJobView(before) ? before.jobId : undefined);
      if (isJobView(before)) assert.ok(r.message.includes(`"${before.jobId}"`), r.message);
      if (!(cmd.kind === 'progress' && cmd.percent !== undefined && Number.isNaN(cmd.percent))) checkReadable(r.message);
      assert.is(w.history.length, lengthBefore, `${where}: a rejected command appends nothing`);
      assert.equal(w.state, snapshot, `${where}: a rejected command leaves the state unchanged`);
    } else {
      assert.ok(allowed !== undefined, `${where}: accepted but the transition table forbids it`);
      assert.equal(d.result.right, [d.expected], `${where}: the exact event of the transition table`);
      w.history.push(...d.result.right);
      w.state = d.result.right.reduce(evolve, before);
      w.model = allowed;
      agreesWithModel(w.state, w.model, where);
      if (w.history.filter((e) => e.type === 'JobCompleted').length >= 2) count('history with two completions');
    }
    checkState(w.state, w.history[w.history.length - 1]);
  }
  return w;
};

const property = suite('job state machine: properties');

property(`random commands leave a history that replays to the state the write side saw (${RUNS} runs)`, () => {
  fc.assert(
    fc.property(fc.uuid(), commands, (uuid, cmds) => {
      const w = runCommands(cmds, `job-${uuid}` as JobId);
      // (b) the whole history is accepted and folds to exactly what the write side saw
      assert.equal(replay(w.history), E.right(w.state));
      assert.equal(fold(w.history), w.state);
      // (c) the history itself obeys the table
      checkHistory(w.history);
      // (d) every event survives the codec
      for (const e of w.history) checkRoundTrip(e);
    }),
    { numRuns: RUNS },
  );
});

property('the generators reach every case, accepted and rejected', () => {
  const needed = [
    'accepted enqueue',
    'rejected enqueue',
    'accepted start',
    'rejected start',
    'accepted progress',
    'rejected progress',
    'accepted complete',
    'rejected complete',
    'accepted error without retry from in_progress',
    'accepted error without retry from initial',
    'accepted error with retry from in_progress',
    'accepted error with retry from in_progress beyond maxAttempts',
    'rejected error with retry from in_progress',
    'accepted interrupted error with retry from in_progress beyond maxAttempts',
    'rejected interrupted error with retry from in_progress past maxInterruptions',
    'accepted interrupted error without retry from in_progress past maxInterruptions',
    'rejected interrupted error without retry from initial',
    'rejected error with retry from initial',
    'rejected error without retry from completed',
    'accepted reset retry (at or after retryAt)',
    'rejected reset retry (before retryAt)',
    'accepted reset recovered (before retryAt)',
    'accepted reset manual (before retryAt)',
    'accepted reset manual (completed, nothing scheduled)',
    'accepted reset manual (cancelled, nothing scheduled)',
    'rejected reset manual (in_progress, nothing scheduled)',
    'rejected reset manual (initial, nothing scheduled)',
    'rejected reset retry (errored, nothing scheduled)',
    'rejected reset recovered (completed, nothing scheduled)',
    'accepted cancel',
    'rejected cancel',
    'accepted release',
    'rejected release',
    'accepted link',
    'rejected link',
    'history with two completions',
  ];
  const missing = needed.filter((label) => (seen.get(label) ?? 0) === 0);
  assert.equal(missing, [], `never reached: ${missing.join('; ')}`);
});

// ---------------------------------------------------------------- corrupted histories

type Mutation =
  | { readonly kind: 'drop'; readonly i: number }
  | { readonly kind: 'duplicate'; readonly i: number; readonly j: number }
  | { readonly kind: 'swap'; readonly i: number; readonly j: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('drop' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), i: fc.nat(), j: fc.nat() }) },
  // half of the duplicates land right after their original, as a retried append would put them
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), i: fc.nat(), j: fc.constant(-1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('swap' as const), i: fc.nat(), j: fc.nat() }) },
  // with the next event of the same type, the swap most likely to leave a valid history
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('swap' as const), i: fc.nat(), j: fc.constant(-1) }) },
);

const firstStart: Command = { kind: 'start', dt: 1000, offset: 0, workerId: 'host-a:1:x', backgroundJobId: 'm-1' };

/** Applies the mutation to a history of length ≥ 2; returns the corrupted history and where it acted. */
const corrupt = (history: readonly JobEvent[], m: Mutation): { events: JobEvent[]; i: number; j: number } => {
  const n = history.length;
  const i = m.i % n;
  const events = [...history];
  switch (m.kind) {
    case 'drop':
      events.splice(i, 1);
      return { events, i, j: i };
    case 'duplicate': {
      const j = m.j < 0 ? i + 1 : m.j % (n + 1);
      events.splice(j, 0, history[i] as JobEvent);
      return { events, i, j };
    }
    case 'swap': {
      const sameType = history.findIndex((e, k) => k > i && e.type === history[i]?.type);
      const j0 = m.j >= 0 ? m.j % n : sameType >= 0 ? sameType : i + 1;
      const j = j0 === i || j0 >= n ? (i + 1) % n : j0;
      events[i] = history[j] as JobEvent;
      events[j] = history[i] as JobEvent;
      return { events, i, j };
    }
  }
};

property(`replay rejects a corrupted history exactly when it breaks the table (${RUNS} runs)`, () => {
  const outcomes = new Map<string, number>();
  fc.assert(
    // An enqueue without `after`, so that the first start is accepted (an awaiting job cannot start), and a valid maxInterruptions.
    fc.property(
      fc.uuid(),
      enqueueCommand.map((c): Command =>
        c.kind === 'enqueue'
          ? (({ after: _, maxInterruptions: n, ...rest }) => ({
              ...rest,
              ...(n !== undefined && Number.isInteger(n) && n >= 0 ? { maxInterruptions: n } : {}),
            }))(c)
          : c,
      ),
      steps(24),
      mutation,
      (uuid, enqueue, rest, m) => {
        const w = runCommands([enqueue, firstStart, ...rest], `job-${uuid}` as JobId);
        const history = w.history;
        assert.ok(history.length >= 2);
        const { events, i, j } = corrupt(history, m);
        const replayed = replay(events);
        const verdict = modelHistory(events);
        const key = `${m.kind} ${E.isRight(replayed) ? 'accepted' : 'rejected'}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);

        // exact: replay agrees with the model, event by event
        if (verdict.ok) {
          assert.ok(E.isRight(replayed), `the model accepts ${m.kind} but replay rejects it`);
          if (E.isRight(replayed)) {
            assert.equal(replayed.right, fold(events));
            agreesWithModel(replayed.right, verdict.model, `${m.kind} ${i} ${j}`);
            checkState(replayed.right, events[events.length - 1]);
            checkHistory(events);
          }
        } else {
          assert.ok(E.isLeft(replayed), `the model rejects event ${verdict.index} of ${m.kind} but replay accepts it`);
          if (E.isLeft(replayed)) {
            assert.is(replayed.left.index, verdict.index, 'replay names the first offending event');
            assert.equal(replayed.left.event, events[verdict.index]);
            assert.is(replayed.left.rejection.status, fold(events.slice(0, verdict.index)).status);
            assert.ok(E.isRight(replay(events.slice(0, verdict.index))), 'everything before it replays');
            assert.match(
              replayed.left.message,
              new RegExp(`^event ${verdict.index} \\(${events[verdict.index]?.type}\\) is not a valid transition: cannot `),
            );
          }
        }

        // exact predictions that need no model
        const rejectedAt = E.isLeft(replayed) ? replayed.left.index : undefined;
        const original = history[i] as JobEvent;
        if (m.kind === 'drop' && i === 0) assert.is(rejectedAt, 0, 'a history without its JobEnqueued');
        if (m.kind === 'drop' && i === history.length - 1) assert.equal(replayed, E.right(fold(history.slice(0, -1))), 'a prefix');
        if (m.kind === 'duplicate' && original.type === 'JobEnqueued') assert.ok(rejectedAt !== undefined, 'two JobEnqueued');
        if (m.kind === 'duplicate' && original.type === 'JobStarted') assert.ok(rejectedAt !== undefined, 'an attempt started twice');
        if (m.kind === 'duplicate' && j === i + 1 && original.type !== 'JobProgressed')
          assert.is(rejectedAt, i + 1, `${original.type} right after itself`);
        if (m.kind === 'duplicate' && j === i + 1 && original.type === 'JobProgressed')
          assert.equal(replayed, E.right(fold(events)), 'a repeated progress report is harmless');
        if (m.kind === 'swap' && Math.min(i, j) === 0) assert.is(rejectedAt, 0, 'JobEnqueued moved from the front');
      },
    ),
    { numRuns: RUNS },
  );
  for (const kind of ['drop', 'duplicate', 'swap'])
    for (const outcome of ['accepted', 'rejected'])
      assert.ok((outcomes.get(`${kind} ${outcome}`) ?? 0) > 0, `some ${kind} was ${outcome}: ${JSON.stringify([...outcomes])}`);
});

property.run();
