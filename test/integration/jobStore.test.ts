import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import type { EventStore } from '../../src/eventStore/index.js';
import { makeStore } from '../../src/backends/index.js';
import { makeJobStore, type JobStore, type LoadedJob } from '../../src/jobStore/index.js';
import {
  addContinuation,
  initialJobState,
  setToCompleted,
  setToInitialState,
  setToInProgress,
  type IsoDate,
  type JobId,
  type JobView,
  type PositiveInt,
} from '../../src/job/index.js';
import { testJobId, testMemoryStoreUrl, testStoreLabel } from '../support/testStore.js';

interface Ctx {
  store: EventStore;
  jobs: JobStore;
}
const test = suite<Ctx>(`job store: appends at the revision read, and the cache of unfinished jobs (${testStoreLabel})`);

test.before.each(async (ctx) => {
  ctx.store = await makeStore(testMemoryStoreUrl());
  ctx.jobs = makeJobStore(ctx.store, { engineVersion: 'test', cacheSize: 3 });
});
test.after.each(async (ctx) => {
  await ctx.store.close();
});

const at = (s: number) => new Date(Date.UTC(2026, 10, 28, 10, 0, s)).toISOString() as IsoDate;
const cause = (id: string) => ({ correlationId: id, causationId: id });

const right = <A>(r: E.Either<{ message?: string; _tag: string }, A>): A => {
  if (E.isLeft(r)) throw new Error(`expected Right, got ${r.left._tag}: ${r.left.message ?? ''}`);
  return r.right;
};

const enqueue = async (jobs: JobStore, id: string): Promise<LoadedJob> =>
  right(
    await jobs.transition(
      { jobId: id, state: initialJobState, revision: 'no_stream' },
      (s) =>
        setToInitialState(s, {
          jobId: id as JobId,
          workerName: 'w',
          queue: 'default',
          payload: {},
          maxAttempts: 3 as PositiveInt,
          enqueuedAt: at(0),
        }),
      cause(id),
    )(),
  );

const start = async (jobs: JobStore, job: LoadedJob) =>
  right(
    await jobs.transition(job, (s) => setToInProgress(s, { workerId: 'w1', backgroundJobId: 'b1', startedAt: at(1) }), cause(job.jobId))(),
  );

const complete = async (jobs: JobStore, job: LoadedJob) =>
  right(await jobs.transition(job, (s) => setToCompleted(s, { attempt: 1, completedAt: at(2), durationMs: 1000 }), cause(job.jobId))());

test('a job it wrote is cached at the revision it wrote, and equals what a read folds', async ({ jobs }) => {
  const enqueued = await enqueue(jobs, testJobId('a'));
  assert.is(enqueued.revision, 0);
  assert.equal(jobs.cached(testJobId('a')), enqueued);
  const started = await start(jobs, enqueued);
  assert.is(started.revision, 1);
  assert.equal(jobs.cached(testJobId('a')), started);
  const loaded = right(await jobs.load(testJobId('a'))());
  assert.equal(loaded, started);
  assert.is((loaded.state as JobView).status, 'in_progress');
});

test('a job that ended is forgotten (the room is for the backlog), and still loads exactly', async ({ jobs }) => {
  const done = await complete(jobs, await start(jobs, await enqueue(jobs, testJobId('b'))));
  assert.is((done.state as JobView).status, 'completed');
  assert.is(jobs.cached(testJobId('b')), undefined);
  const loaded = right(await jobs.load(testJobId('b'))());
  assert.equal(loaded, done);
  assert.is(jobs.cached(testJobId('b')), undefined, 'loading an ended job does not cache it either');
});

test('endedChildless: true once for a job it saw end naming no child, at that revision only; false with a child, or unknown', async ({
  store,
  jobs,
}) => {
  const plain = await complete(jobs, await start(jobs, await enqueue(jobs, testJobId('p'))));
  assert.is(plain.revision, 2);
  assert.is(jobs.endedChildless?.(testJobId('p'), 1), false, 'not at another revision (and forgotten once asked)');
  assert.is(jobs.endedChildless?.(testJobId('p'), 2), false, 'asked once only');
  const again = await complete(jobs, await start(jobs, await enqueue(jobs, testJobId('q'))));
  assert.is(jobs.endedChildless?.(testJobId('q'), again.revision as number), true);
  // A parent naming a child: never childless, whether written or read.
  const parent = await start(jobs, await enqueue(jobs, testJobId('r')));
  const linked = right(
    await jobs.transition(parent, (s) => addContinuation(s, { childJobId: testJobId('c') as JobId, at: at(1) }), cause('r'))(),
  );
  const ended = await complete(jobs, linked);
  assert.is(jobs.endedChildless?.(testJobId('r'), ended.revision as number), false);
  right(await jobs.load(testJobId('r'))());
  assert.is(jobs.endedChildless?.(testJobId('r'), ended.revision as number), false);
  // A job read (not written) that ended childless counts too; one never seen does not.
  const reader = makeJobStore(store, { engineVersion: 'test' });
  const read = right(await reader.load(testJobId('q'))());
  assert.is(reader.endedChildless?.(testJobId('q'), read.revision as number), true);
  assert.is(reader.endedChildless?.(testJobId('never'), 0), false);
});

test('the cache keeps the last cacheSize unfinished jobs', async ({ jobs }) => {
  for (const id of [testJobId('c1'), testJobId('c2'), testJobId('c3'), testJobId('c4')]) await enqueue(jobs, id);
  assert.is(jobs.cached(testJobId('c1')), undefined);
  for (const id of [testJobId('c2'), testJobId('c3'), testJobId('c4')]) assert.is(jobs.cached(id)?.revision, 0, id);
});

test('a conflict drops the stale entry and is reported; nothing is appended', async ({ store, jobs }) => {
  const enqueued = await enqueue(jobs, testJobId('d'));
  // Another process (its own job store on the same store) starts the job first.
  const other = makeJobStore(store, { engineVersion: 'test' });
  await start(other, right(await other.load(testJobId('d'))()));
  const r = await jobs.transition(
    enqueued,
    (s) => setToInProgress(s, { workerId: 'w2', backgroundJobId: 'b2', startedAt: at(3) }),
    cause(testJobId('d')),
  )();
  assert.ok(E.isLeft(r));
  assert.is(E.isLeft(r) && r.left._tag, 'WrongExpectedRevision');
  assert.is(jobs.cached(testJobId('d')), undefined);
  const history = right(await jobs.history(testJobId('d'))());
  assert.equal(
    history.map((h) => h.event.type),
    ['JobEnqueued', 'JobStarted'],
  );
  assert.is((history[1]?.event.data as { workerId: string }).workerId, 'w1');
});

test('a transition the state machine refuses is returned as TransitionRejected, with nothing appended', async ({ jobs }) => {
  const enqueued = await enqueue(jobs, testJobId('e'));
  const r = await jobs.transition(
    enqueued,
    (s) => setToCompleted(s, { attempt: 1, completedAt: at(2), durationMs: 0 }),
    cause(testJobId('e')),
  )();
  assert.ok(E.isLeft(r));
  assert.is(E.isLeft(r) && r.left._tag, 'TransitionRejected');
  assert.is(right(await jobs.load(testJobId('e'))()).revision, 0);
});

test.run();
