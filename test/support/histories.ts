// Random VALID job histories for property tests, built by applying the
// transition functions of src/job/transitions.ts to random inputs: every
// history is valid by construction (a rejected transition is a bug here and
// throws). Reuse: `jobHistoryArb()` for one job, `jobHistoriesArb()` for
// several jobs interleaved in one global order, `toEventData()` to append.
import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import {
  addContinuation,
  attemptsLeft,
  cancel,
  evolve,
  initialJobState,
  interruptionsLeft,
  isJobView,
  jobStreamName,
  recordActionReturned,
  recordProgress,
  release,
  requestCancel,
  purge,
  resetToInitialState,
  setToCancelled,
  setToCompleted,
  setToErrored,
  setToInitialState,
  setToInProgress,
  type EnqueueInput,
  type ErrorInfo,
  type IsoDate,
  type JobEvent,
  type JobId,
  type JobState,
  type JobView,
  type TransitionRejected,
} from '../../src/job/index.js';

/** One job's history and the state the write side saw after it. */
export interface JobHistory {
  readonly jobId: JobId;
  readonly stream: string;
  readonly events: readonly JobEvent[];
  readonly state: JobState;
}

/** An event of an interleaved run: which stream, which revision. */
export interface InterleavedEvent {
  readonly stream: string;
  readonly revision: number;
  readonly event: JobEvent;
}

export interface HistoryOptions {
  /** Transitions after the enqueue, at most. Default: 14. */
  readonly maxSteps?: number;
  /** Worker names to draw from (few, so per-worker aggregates see several jobs). Default: three names. */
  readonly workerNames?: readonly string[];
  /** Job ids to draw from. Default: ids of 1–40 characters of the allowed alphabet, some with `-`. */
  readonly jobId?: fc.Arbitrary<string>;
}

const defaultWorkers = ['send-email', 'import-file', 'charge-card'] as const;

/** Ids of the allowed alphabet `[A-Za-z0-9._:@-]`, some with a `-` (the stream's category is still `job`). */
export const jobIdArb: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('a', 'imp', 'x.y', 'Q_9', 'k:v', 'dash-ed'), fc.nat({ max: 1_000_000 }), fc.constantFrom('', '-r', '.1', ':z'))
  .map(([prefix, n, suffix]) => `${prefix}${n}${suffix}`);

/** JSON values as producers send them: objects, arrays, scalars, null. No `-0` (JSON has none). */
export const payloadArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.dictionary(
    fc.stringMatching(/^[a-z][a-zA-Z0-9]{0,7}$/),
    fc.oneof(fc.integer(), fc.string({ maxLength: 12 }), fc.boolean(), fc.constant(null)),
    { maxKeys: 4 },
  ),
  fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 4 }),
  fc.string({ maxLength: 16 }),
  fc.integer(),
);

const errorArb: fc.Arbitrary<ErrorInfo> = fc
  .record({
    name: fc.constantFrom('Error', 'TypeError', 'Timeout', 'WorkerLost', 'PartnerDown'),
    message: fc.oneof(fc.string({ maxLength: 40 }), fc.string({ minLength: 490, maxLength: 620 })),
    stack: fc.option(fc.string({ maxLength: 60 }), { nil: undefined }),
    code: fc.option(fc.constantFrom('ECONNRESET', 'E42'), { nil: undefined }),
  })
  .map(({ stack, code, ...rest }) => ({ ...rest, ...(stack !== undefined ? { stack } : {}), ...(code !== undefined ? { code } : {}) }));

const durationArb = fc.oneof(
  fc.integer({ min: 0, max: 50 }),
  fc.integer({ min: 0, max: 600_000 }),
  fc.integer({ min: 0, max: 40_000_000 }).map((n) => n / 4),
);

/** The random draws of one step; what they mean depends on the state the job is in. */
interface Step {
  readonly pick: number;
  readonly gapMs: number;
  readonly n: number;
  readonly flag: boolean;
  readonly percent?: number;
  readonly text?: string;
  readonly durationMs: number;
  readonly delayMs: number;
  readonly error: ErrorInfo;
  readonly result?: unknown;
}

const stepArb: fc.Arbitrary<Step> = fc
  .record({
    pick: fc.nat(),
    gapMs: fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 86_400_000 })),
    n: fc.nat({ max: 99_999 }),
    flag: fc.boolean(),
    percent: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
    text: fc.option(fc.string({ maxLength: 24 }), { nil: undefined }),
    durationMs: durationArb,
    delayMs: fc.integer({ min: 1_000, max: 3_600_000 }),
    error: errorArb,
    result: fc.option(payloadArb, { nil: undefined }),
  })
  .map(({ percent, text, result, ...rest }) => ({
    ...rest,
    ...(percent !== undefined ? { percent } : {}),
    ...(text !== undefined ? { text } : {}),
    ...(result !== undefined ? { result } : {}),
  }));

const iso = (ms: number): IsoDate => new Date(ms).toISOString() as IsoDate;

const accept = <A extends readonly JobEvent[]>(r: E.Either<TransitionRejected, A>): A => {
  if (E.isLeft(r)) throw new Error(`history generator chose an invalid transition: ${r.left.message}`);
  return r.right;
};

/** The transitions allowed from `s`, each producing its events from the step's draws at time `now`. */
const choices = (s: JobView, step: Step, now: number): Array<() => readonly JobEvent[]> => {
  const at = iso(now);
  const by = step.flag ? { by: `user-${step.n % 7}` } : {};
  const manual = () => accept(resetToInitialState(s, { at, reason: 'manual', ...by }));
  const cancelIt = () => accept(cancel(s, { at, ...(step.text !== undefined ? { reason: step.text } : {}), ...by }));
  // A continuation that waits for this job: from any status, a new child each time.
  const link = () => accept(addContinuation(s, { childJobId: `child-${s.children?.length ?? 0}-${step.n}` as JobId, at }));
  // The late return of a timed-out action ("timed out, still running"): from any status, the oldest first or not.
  const running = s.actionsRunning ?? [];
  const returned =
    running.length > 0 ? [() => accept(recordActionReturned(s, { attempt: running[step.n % running.length]!.attempt, at }))] : [];
  return [...statusChoices(s, step, now, at, manual, cancelIt), ...(step.n % 5 === 0 ? [link] : []), ...returned];
};

/** Purged (docs/retention.md), now and then: the job's last event. */
const purgeIt = (s: JobView, step: Step, at: IsoDate): Array<() => readonly JobEvent[]> =>
  step.n % 3 === 0 ? [() => accept(purge(s, { at, ...(step.flag ? { by: 'retention', reason: 'retention' } : {}) }))] : [];

const statusChoices = (
  s: JobView,
  step: Step,
  now: number,
  at: IsoDate,
  manual: () => readonly JobEvent[],
  cancelIt: () => readonly JobEvent[],
): Array<() => readonly JobEvent[]> => {
  switch (s.status) {
    case 'awaiting': {
      // Released with each parent in a final status its `on` accepts.
      const statuses = s.on === 'finished' ? (['completed', 'errored', 'cancelled'] as const) : (['completed'] as const);
      const parents = (s.after ?? []).map((jobId, i) => ({ jobId, status: statuses[(step.n + i) % statuses.length]! }));
      return [() => accept(release(s, { at, parents })), cancelIt];
    }
    case 'initial':
      return [
        () =>
          accept(
            setToInProgress(s, {
              workerId: `host-${step.n % 3}:${100 + (step.n % 50)}:r${step.n}`,
              backgroundJobId: `msg-${step.n}`,
              startedAt: at,
            }),
          ),
        () => accept(setToInProgress(s, { workerId: `host-0:1:r${step.n}`, backgroundJobId: `msg-${step.n}`, startedAt: at })),
        () =>
          accept(
            setToErrored(s, {
              attempt: s.attempts + 1,
              erroredAt: at,
              error: { name: 'UnknownWorker', message: `unknown worker "${s.workerName}"` },
            }),
          ),
        cancelIt,
      ];
    case 'in_progress': {
      const attempt = s.attempts;
      const retry = step.flag && attemptsLeft(s, attempt) > 0 ? { retryAt: iso(now + step.delayMs) } : {};
      // Its cancel was requested: progress, a result after all, or the end as cancelled (never errored).
      if (s.cancelRequested !== undefined)
        return [
          () => accept(recordProgress(s, { attempt, at, ...(step.percent !== undefined ? { percent: step.percent } : {}) })),
          () => accept(setToCompleted(s, { attempt, completedAt: at, durationMs: step.durationMs })),
          () => accept(setToCancelled(s, { attempt, at })),
          () => accept(setToCancelled(s, { attempt, at })),
        ];
      return [
        () =>
          accept(
            requestCancel(s, {
              attempt,
              at,
              ...(step.text !== undefined ? { reason: step.text } : {}),
              ...(step.flag ? { by: `user-${step.n % 7}` } : {}),
            }),
          ),
        () =>
          accept(
            recordProgress(s, {
              attempt,
              at,
              ...(step.percent !== undefined ? { percent: step.percent } : {}),
              ...(step.text !== undefined ? { message: step.text } : {}),
            }),
          ),
        () =>
          accept(
            setToCompleted(s, {
              attempt,
              completedAt: at,
              durationMs: step.durationMs,
              ...(step.result !== undefined ? { result: step.result } : {}),
            }),
          ),
        () =>
          accept(
            setToErrored(s, {
              attempt,
              erroredAt: at,
              error: step.error,
              ...(step.n % 3 !== 0 ? { durationMs: step.durationMs } : {}),
              ...retry,
            }),
          ),
        () => accept(setToErrored(s, { attempt, erroredAt: at, error: step.error, durationMs: step.durationMs, ...retry })),
        // a timeout whose action ignores its signal: "timed out, still running" until its JobActionReturned
        () =>
          accept(
            setToErrored(s, {
              attempt,
              erroredAt: at,
              error: { name: 'Timeout', message: `attempt ${attempt} ran past the worker's timeout` },
              durationMs: step.durationMs,
              actionRunning: true,
              ...retry,
            }),
          ),
        // a deploy's shutdown or a lost process: retried apart from maxAttempts, while interruptions remain
        () =>
          accept(
            setToErrored(s, {
              attempt,
              erroredAt: at,
              error: step.flag
                ? { name: 'Interrupted', message: `attempt ${attempt} was aborted because the process shut down` }
                : { name: 'WorkerLost', message: `attempt ${attempt} was lost` },
              durationMs: step.durationMs,
              interrupted: true,
              ...(step.n % 4 !== 0 && interruptionsLeft(s) > 0 ? { retryAt: iso(now + 1000) } : {}),
            }),
          ),
      ];
    }
    case 'errored':
      return s.retryAt !== undefined
        ? [
            () => accept(resetToInitialState(s, { at: iso(Math.max(now, Date.parse(s.retryAt ?? at))), reason: 'retry' })),
            () => accept(resetToInitialState(s, { at, reason: 'recovered' })),
            cancelIt,
            manual,
          ]
        : [manual, cancelIt, ...purgeIt(s, step, at)];
    case 'completed':
    case 'cancelled':
      return [manual, ...purgeIt(s, step, at)];
  }
};

/** Applies random steps to an enqueued job; returns the events and the state after each. */
const runSteps = (enqueue: EnqueueInput, steps: readonly Step[], startMs: number): { events: JobEvent[]; state: JobState } => {
  let state: JobState = initialJobState;
  let now = startMs;
  const events: JobEvent[] = [];
  const apply = (es: readonly JobEvent[]) => {
    for (const e of es) {
      events.push(e);
      state = evolve(state, e);
    }
  };
  apply(accept(setToInitialState(state, enqueue)));
  for (const step of steps) {
    if (!isJobView(state)) break;
    now += step.gapMs;
    const options = choices(state, step, now);
    const chosen = options[step.pick % options.length];
    if (chosen === undefined) break;
    const produced = chosen();
    apply(produced);
    // A retry reset may jump ahead to retryAt: time never goes back.
    const last = produced[produced.length - 1];
    if (last?.type === 'JobReset') now = Math.max(now, Date.parse(last.data.at));
  }
  return { events, state };
};

/** One job's valid history: enqueue, then up to `maxSteps` transitions. */
export const jobHistoryArb = (options: HistoryOptions = {}): fc.Arbitrary<JobHistory> =>
  fc
    .record({
      jobId: options.jobId ?? jobIdArb,
      workerName: fc.constantFrom(...(options.workerNames ?? defaultWorkers)),
      queue: fc.constantFrom('default', 'bulk'),
      payload: payloadArb,
      maxAttempts: fc.integer({ min: 1, max: 5 }),
      startMs: fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2027, 0, 1) }),
      runAtMs: fc.option(fc.integer({ min: 0, max: 86_400_000 }), { nil: undefined }),
      priority: fc.option(fc.integer({ min: -5, max: 5 }), { nil: undefined }),
      enqueuedBy: fc.option(fc.constantFrom('api', 'cli', 'amqp'), { nil: undefined }),
      after: fc.option(fc.uniqueArray(fc.constantFrom('parent-a', 'parent-b', 'parent-c'), { minLength: 1, maxLength: 3 }), {
        nil: undefined,
        freq: 3,
      }),
      on: fc.constantFrom('completed' as const, 'finished' as const),
      maxInterruptions: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
      steps: fc.array(stepArb, { maxLength: options.maxSteps ?? 14 }),
    })
    .map((r) => {
      const jobId = r.jobId as JobId;
      const enqueue: EnqueueInput = {
        jobId,
        workerName: r.workerName,
        queue: r.queue,
        payload: r.payload,
        maxAttempts: r.maxAttempts as EnqueueInput['maxAttempts'],
        enqueuedAt: iso(r.startMs),
        ...(r.runAtMs !== undefined ? { runAt: iso(r.startMs + r.runAtMs) } : {}),
        ...(r.priority !== undefined ? { priority: r.priority } : {}),
        ...(r.enqueuedBy !== undefined ? { enqueuedBy: r.enqueuedBy } : {}),
        ...(r.after !== undefined ? { after: r.after as JobId[], on: r.on } : {}),
        ...(r.maxInterruptions !== undefined ? { maxInterruptions: r.maxInterruptions } : {}),
      };
      const { events, state } = runSteps(enqueue, r.steps, r.startMs);
      return { jobId, stream: jobStreamName(jobId), events, state };
    });

/** Merges histories into one global order that keeps each job's own order; `picks` choose the next job. */
export const interleave = (histories: readonly JobHistory[], picks: readonly number[]): InterleavedEvent[] => {
  const queues = histories.map((h) => ({ h, next: 0 }));
  const out: InterleavedEvent[] = [];
  let live = queues.filter((q) => q.next < q.h.events.length);
  let i = 0;
  while (live.length > 0) {
    const q = live[(picks[i % Math.max(1, picks.length)] ?? 0) % live.length];
    i += 1;
    if (q === undefined) break;
    const event = q.h.events[q.next];
    if (event !== undefined) out.push({ stream: q.h.stream, revision: q.next, event });
    q.next += 1;
    live = live.filter((x) => x.next < x.h.events.length);
  }
  return out;
};

/** Several jobs (distinct ids) and one interleaving of all their events. */
export const jobHistoriesArb = (
  options: HistoryOptions & { readonly minJobs?: number; readonly maxJobs?: number } = {},
): fc.Arbitrary<{ readonly histories: readonly JobHistory[]; readonly events: readonly InterleavedEvent[] }> =>
  fc
    .tuple(
      fc.uniqueArray(jobHistoryArb(options), {
        minLength: options.minJobs ?? 1,
        maxLength: options.maxJobs ?? 8,
        selector: (h) => h.jobId,
      }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 64 }),
    )
    .map(([histories, picks]) => ({ histories, events: interleave(histories, picks) }));

/** An event ready to append: a fresh id, the engine's metadata keys. */
export const toEventData = (
  event: JobEvent,
  metadata: Readonly<Record<string, unknown>> = {},
): { readonly id: string; readonly type: string; readonly data: unknown; readonly metadata: Readonly<Record<string, unknown>> } => {
  const id = randomUUID();
  return {
    id,
    type: event.type,
    data: event.data,
    metadata: { $correlationId: id, $causationId: id, engine: 'jobtrail-test', ...metadata },
  };
};
