// Continuations as a whole: random DAGs of jobs, each parent ending at random
// (completed, failed for good, cancelled), continuations with a random `on`,
// evaluated by racing deciders in random order, often too early and more than
// once. The final statuses must equal an independent model's, written here:
// a continuation runs if every parent completed (`completed`), or once every
// parent is final (`finished`); otherwise it is cancelled.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import {
  cancel,
  decideContinuation,
  evolve,
  fold,
  initialJobState,
  isJobView,
  replay,
  setToCompleted,
  setToErrored,
  setToInitialState,
  setToInProgress,
  type IsoDate,
  type JobEvent,
  type JobId,
  type JobState,
} from '../../../src/job/index.js';

type Outcome = 'completed' | 'errored' | 'cancelled';
interface Node {
  readonly parents: readonly number[];
  readonly on: 'completed' | 'finished';
  /** How the job ends once it may run. */
  readonly outcome: Outcome;
}

const dagArb: fc.Arbitrary<Node[]> = fc
  .array(
    fc.record({
      parentPicks: fc.array(fc.nat(), { maxLength: 4 }),
      root: fc.boolean(),
      on: fc.constantFrom('completed' as const, 'finished' as const),
      outcome: fc.constantFrom<Outcome>('completed', 'completed', 'errored', 'cancelled'),
    }),
    { minLength: 1, maxLength: 12 },
  )
  .map((raw) =>
    raw.map((r, i) => ({
      // Parents are earlier jobs only: the order of enqueueing makes every graph acyclic.
      parents: i === 0 || r.root ? [] : [...new Set(r.parentPicks.map((p) => p % i))],
      on: r.on,
      outcome: r.outcome,
    })),
  );

/** The model: each job's final status, from its parents' (no state machine, no events). */
const model = (nodes: readonly Node[]): Outcome[] => {
  const out: Outcome[] = [];
  nodes.forEach((n, i) => {
    const runs = n.parents.length === 0 || n.on === 'finished' || n.parents.every((p) => out[p] === 'completed');
    out[i] = runs ? n.outcome : 'cancelled';
  });
  return out;
};

const T0 = Date.UTC(2026, 5, 1);
const at = (t: number): IsoDate => new Date(T0 + t * 1000).toISOString() as IsoDate;
const id = (i: number): JobId => `job-${i}` as JobId;
const ok = <A>(r: E.Either<{ message: string }, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

/** A store of streams with revisions: an append at a stale revision is refused, as the real store does. */
class Streams {
  readonly events = new Map<string, JobEvent[]>();
  state(jobId: string): JobState {
    return fold(this.events.get(jobId) ?? []);
  }
  revision(jobId: string): number {
    return (this.events.get(jobId)?.length ?? 0) - 1;
  }
  append(jobId: string, expected: number, es: readonly JobEvent[]): boolean {
    if (this.revision(jobId) !== expected) return false;
    this.events.set(jobId, [...(this.events.get(jobId) ?? []), ...es]);
    return true;
  }
}

const test = suite('continuations: random DAGs against a model');

test('final statuses equal the model for random DAGs, outcomes, `on`, and racing, early, repeated evaluations (1000 runs)', () => {
  fc.assert(
    fc.property(dagArb, fc.array(fc.nat(), { minLength: 50, maxLength: 400 }), (nodes, picks) => {
      const s = new Streams();
      let clock = 0;
      // Enqueue in order: parents exist before their children.
      nodes.forEach((n, i) => {
        const input = {
          jobId: id(i),
          workerName: 'w',
          queue: 'default',
          payload: {},
          maxAttempts: 1 as never,
          enqueuedAt: at(clock++),
          ...(n.parents.length > 0 ? { after: n.parents.map(id), on: n.on } : {}),
        };
        assert.ok(s.append(id(i), -1, ok(setToInitialState(initialJobState, input))));
      });
      const releasesAppended = new Map<number, number>();
      /** A decider: reads the child, then its parents, then appends at the child's revision read (a race loses). */
      const evaluate = (i: number, interleaved?: () => void) => {
        const child = s.state(id(i));
        const revision = s.revision(id(i));
        const parents = new Map(nodes[i]!.parents.map((p) => [id(p) as string, s.state(id(p))]));
        interleaved?.();
        const v = ok(decideContinuation(child, parents, at(clock++)));
        if (v.kind === 'release' || v.kind === 'cancel') {
          if (s.append(id(i), revision, v.events) && v.kind === 'release') releasesAppended.set(i, (releasesAppended.get(i) ?? 0) + 1);
        }
      };
      /** Run (or end) a job that may run now. */
      const finish = (i: number) => {
        const st = s.state(id(i));
        if (!isJobView(st) || st.status !== 'initial') return;
        const o = nodes[i]!.outcome;
        if (o === 'cancelled') {
          s.append(id(i), s.revision(id(i)), ok(cancel(st, { at: at(clock++), reason: 'test' })));
          return;
        }
        const started = ok(setToInProgress(st, { workerId: 'w:1:x', backgroundJobId: `m-${i}`, startedAt: at(clock++) }));
        const running = evolve(st, started[0]);
        const end =
          o === 'completed'
            ? ok(setToCompleted(running, { attempt: 1, completedAt: at(clock++), durationMs: 1 }))
            : ok(setToErrored(running, { attempt: 1, erroredAt: at(clock++), error: { name: 'E', message: 'no' } }));
        s.append(id(i), s.revision(id(i)), [...started, ...end]);
      };
      // Random interleaving: end a runnable job, or evaluate a random continuation (maybe too early), or two deciders racing.
      for (const p of picks) {
        const i = p % nodes.length;
        const kind = Math.floor(p / nodes.length) % 3;
        if (kind === 0) finish(i);
        else if (kind === 1) evaluate(i);
        else evaluate(i, () => evaluate(i));
      }
      // Then the releaser's duty to the end: each job that ends has its children evaluated, until nothing moves.
      for (let moved = true; moved;) {
        const before = JSON.stringify([...s.events.entries()].map(([k, v]) => [k, v.length]));
        nodes.forEach((_, i) => {
          finish(i);
          evaluate(i);
        });
        moved = JSON.stringify([...s.events.entries()].map(([k, v]) => [k, v.length])) !== before;
      }
      const expected = model(nodes);
      nodes.forEach((n, i) => {
        const st = s.state(id(i));
        assert.ok(isJobView(st));
        if (!isJobView(st)) return;
        assert.is(st.status === 'errored' ? 'errored' : st.status, expected[i], `job ${i} (parents ${n.parents.join(',')}, on ${n.on})`);
        // Released at most once, and run at most once.
        assert.ok((releasesAppended.get(i) ?? 0) <= 1, `job ${i} released once`);
        const history = s.events.get(id(i)) ?? [];
        assert.ok(history.filter((e) => e.type === 'JobStarted').length <= 1, `job ${i} ran at most once`);
        // A continuation ran only after every parent was final.
        assert.ok(E.isRight(replay(history)), `job ${i}: a valid history`);
        if (n.parents.length > 0 && n.outcome !== 'cancelled' && st.status === 'cancelled')
          assert.match(st.cancelReason ?? '', /parent "job-\d+"/);
      });
    }),
    { numRuns: 1000 },
  );
});

test('a continuation waits while a parent is not final, and is cancelled at once when one fails for good', () => {
  const parent = (status: 'initial' | 'completed' | 'errored'): JobState =>
    ({
      ...(fold([
        ok(
          setToInitialState(initialJobState, {
            jobId: 'p' as JobId,
            workerName: 'w',
            queue: 'q',
            payload: 1,
            maxAttempts: 1 as never,
            enqueuedAt: at(0),
          }),
        )[0],
      ]) as object),
      status,
    }) as JobState;
  const child = fold(
    ok(
      setToInitialState(initialJobState, {
        jobId: 'c' as JobId,
        workerName: 'w',
        queue: 'q',
        payload: 1,
        maxAttempts: 1 as never,
        enqueuedAt: at(0),
        after: ['p', 'q'] as JobId[],
      }),
    ),
  );
  assert.is(child.status, 'awaiting');
  const decide = (p: JobState, q: JobState) =>
    ok(
      decideContinuation(
        child,
        new Map([
          ['p', p],
          ['q', q],
        ]),
        at(5),
      ),
    ).kind;
  assert.is(decide(parent('initial'), parent('completed')), 'wait');
  assert.is(decide(parent('completed'), parent('completed')), 'release');
  assert.is(decide(parent('initial'), parent('errored')), 'cancel', 'no need to wait for the others');
  assert.is(decide(parent('completed'), initialJobState), 'cancel', 'a parent deleted for good');
});

test.run();
