// Continuations end to end (docs/continuations.md): chains, fan-in, a parent
// failing for good, a parent final already, an unknown parent, a whole DAG in
// one enqueueMany, and the crash window between a parent's end and its
// child's release. On the embedded store with the in-process broker, and on
// RabbitMQ (unique queue names per test); on the EventStoreDB server ESDB_URL
// names when it is set (test/support/testStore.ts: job ids are unique per run,
// and a list is narrowed to this test's jobs, as the server is shared).
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import * as t from 'io-ts';
import { makeStore, type StoreBackend } from '../../src/backends/index.js';
import { makeMemoryBroker, makeRabbitBroker, type Broker } from '../../src/broker/index.js';
import { EnqueueRejectedError } from '../../src/conductor/index.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { replay, setToCompleted, setToInProgress, isoDate, type JobView } from '../../src/job/index.js';
import { makeJobStore } from '../../src/jobStore/index.js';
import { defineWorker, NonRetryableError, type Worker } from '../../src/worker/index.js';
import { deleteQueues, rabbitUrl } from '../support/rabbit.js';
import { readyTestStore, testJobId, testMemoryStoreUrl, testStoreLabel } from '../support/testStore.js';

type Kind = 'memory' | 'rabbitmq';

interface Ctx {
  store: StoreBackend;
  brokers: Broker[];
  engines: Engine[];
  queues: string[];
  /** Each run of the step worker: its name, and when it started and ended. */
  runs: { name: string; start: number; end: number }[];
  queue: string;
}

for (const kind of ['memory', 'rabbitmq'] as const satisfies readonly Kind[]) {
  const test = suite<Ctx>(`continuations (${testStoreLabel}, ${kind === 'memory' ? 'in-process broker' : 'RabbitMQ'})`);

  test.before(() => readyTestStore());
  test.before.each(async (ctx) => {
    ctx.store = await makeStore(testMemoryStoreUrl());
    ctx.brokers = [];
    ctx.engines = [];
    ctx.runs = [];
    ctx.queue = `test-${randomUUID()}`;
    ctx.queues = [`jobtrail.work.${ctx.queue}`, `jobtrail.work.${ctx.queue}.dead`];
  });
  test.after.each(async (ctx) => {
    for (const e of ctx.engines) await e.close({ gracePeriodMs: 0 });
    for (const b of ctx.brokers) await b.close();
    await ctx.store.close();
    if (kind === 'rabbitmq') await deleteQueues(ctx.queues);
  });

  const stepWorker = (ctx: Ctx) =>
    defineWorker({
      name: 'step',
      queue: ctx.queue,
      maxAttempts: 1,
      concurrency: 20,
      payload: t.intersection([t.type({ name: t.string }), t.partial({ fail: t.boolean, ms: t.number })]),
      action: async ({ name, fail, ms }) => {
        const start = Date.now();
        await new Promise((r) => setTimeout(r, ms ?? 5));
        ctx.runs.push({ name, start, end: Date.now() });
        if (fail) throw new NonRetryableError(`${name} fails for good`);
        return name;
      },
    });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const engineOn = async (ctx: Ctx, workers: Worker<any>[], start = true) => {
    const broker =
      kind === 'memory'
        ? makeMemoryBroker()
        : await makeRabbitBroker({ url: rabbitUrl, connectionName: `jobtrail-test-${randomUUID()}`, minReconnectDelayMs: 100 });
    ctx.brokers.push(broker);
    // rememberBroker: the store may be the tests' shared EventStoreDB, used with both brokers (issue 22).
    const engine = await createEngine({ store: ctx.store, broker, workers, acceptCommands: false, rememberBroker: false });
    ctx.engines.push(engine);
    if (start) await engine.start();
    return engine;
  };

  const ranOnce = (ctx: Ctx, name: string) => {
    const r = ctx.runs.filter((x) => x.name === name);
    assert.is(r.length, 1, `${name} ran once (ran ${r.length} times)`);
    return r[0]!;
  };

  test('a chain A → B → C runs in order, each after its parent completed; the views link parents and children', async (ctx) => {
    const w = stepWorker(ctx);
    const engine = await engineOn(ctx, [w]);
    const a = await engine.enqueue(w, { name: 'A', ms: 50 });
    const b = await engine.enqueue(w, { name: 'B' }, { after: a.jobId });
    const c = await engine.enqueue(w, { name: 'C' }, { after: [b.jobId] });
    assert.is(b.job.status, 'awaiting');
    assert.equal(b.job.after, [a.jobId]);
    assert.is(b.job.on, 'completed');
    const [, , cv] = await engine.waitForFinal([a.jobId, b.jobId, c.jobId], { timeoutMs: 20_000 });
    assert.is(cv!.status, 'completed');
    const [ra, rb, rc] = [ranOnce(ctx, 'A'), ranOnce(ctx, 'B'), ranOnce(ctx, 'C')];
    assert.ok(rb.start >= ra.end && rc.start >= rb.end, 'each ran after its parent ended');
    const av = (await engine.getJob(a.jobId))!;
    assert.equal(av.children, [b.jobId]);
    const bv = (await engine.getJob(b.jobId))!;
    assert.equal(bv.released?.parents, [{ jobId: a.jobId, status: 'completed' }]);
    const history = await engine.history(b.jobId);
    assert.equal(
      history.map((e) => e.event.type),
      ['JobEnqueued', 'JobContinuationAdded', 'JobReleased', 'JobStarted', 'JobCompleted'],
    );
    assert.ok(E.isRight(replay(history.map((e) => e.event))));
  });

  test('fan-in: 10 parents → 1 child, which runs once, after all of them', async (ctx) => {
    const w = stepWorker(ctx);
    const engine = await engineOn(ctx, [w]);
    const parents = await Promise.all(Array.from({ length: 10 }, (_, i) => engine.enqueue(w, { name: `P${i}`, ms: 10 + i * 15 })));
    const child = await engine.enqueue(w, { name: 'child' }, { after: parents.map((p) => p.jobId) });
    const [cv] = await engine.waitForFinal([child.jobId], { timeoutMs: 20_000 });
    assert.is(cv!.status, 'completed');
    const rc = ranOnce(ctx, 'child');
    for (let i = 0; i < 10; i++) assert.ok(rc.start >= ranOnce(ctx, `P${i}`).end, `after P${i}`);
    const history = await engine.history(child.jobId);
    assert.is(history.filter((e) => e.event.type === 'JobReleased').length, 1, 'released once');
    await new Promise((r) => setTimeout(r, 300));
    assert.is(ctx.runs.filter((x) => x.name === 'child').length, 1, 'and still once');
  });

  test('a parent failing for good cancels its continuation, and that one’s own, with the reason', async (ctx) => {
    const w = stepWorker(ctx);
    const engine = await engineOn(ctx, [w]);
    const a = await engine.enqueue(w, { name: 'A', fail: true, ms: 30 });
    const b = await engine.enqueue(w, { name: 'B' }, { after: a.jobId });
    const c = await engine.enqueue(w, { name: 'C' }, { after: b.jobId });
    const d = await engine.enqueue(w, { name: 'D' }, { after: a.jobId, on: 'finished' });
    const [, bv, cv, dv] = await engine.waitForFinal([a.jobId, b.jobId, c.jobId, d.jobId], { timeoutMs: 20_000 });
    assert.is(bv!.status, 'cancelled');
    assert.match(bv!.cancelReason ?? '', `parent "${a.jobId}" failed for good`);
    assert.is(cv!.status, 'cancelled');
    assert.match(cv!.cancelReason ?? '', `parent "${b.jobId}" was cancelled`);
    assert.is(dv!.status, 'completed', 'on: finished runs however the parent ended');
    assert.equal(dv!.released?.parents, [{ jobId: a.jobId, status: 'errored' }]);
    assert.equal(ctx.runs.map((r) => r.name).sort(), ['A', 'D']);
  });

  test('a parent that is final already releases the continuation at once; an unknown parent is refused, nothing recorded', async (ctx) => {
    const w = stepWorker(ctx);
    const engine = await engineOn(ctx, [w]);
    const a = await engine.enqueue(w, { name: 'A' });
    await engine.waitForFinal([a.jobId], { timeoutMs: 20_000 });
    const b = await engine.enqueue(w, { name: 'B' }, { after: a.jobId });
    assert.ok(b.job.status === 'initial' || b.job.status === 'in_progress' || b.job.status === 'completed', b.job.status);
    assert.ok(b.job.released !== undefined, 'released by the enqueue itself');
    await engine.waitForFinal([b.jobId], { timeoutMs: 20_000 });
    ranOnce(ctx, 'B');

    const err = await engine
      .enqueue(w, { name: 'X' }, { jobId: testJobId('orphan'), after: [testJobId('no-such-job')] })
      .catch((e: unknown) => e);
    assert.ok(err instanceof EnqueueRejectedError);
    assert.is((err as EnqueueRejectedError).reason, 'UnknownParent');
    assert.match((err as Error).message, 'no-such-job');
    assert.is(await engine.getJob(testJobId('orphan')), undefined, 'nothing recorded');
    const self = await engine.enqueue(w, { name: 'X' }, { jobId: testJobId('self'), after: testJobId('self') }).catch((e: unknown) => e);
    assert.is((self as EnqueueRejectedError).reason, 'InvalidOptions');
  });

  test('enqueueMany: a whole DAG in one call, parents referenced by jobId in any order; a cycle or an unknown parent refuses it all', async (ctx) => {
    const w = stepWorker(ctx);
    const engine = await engineOn(ctx, [w]);
    const tag = randomUUID().slice(0, 8);
    const id = (n: string) => `${n}-${tag}`;
    const done = await engine.enqueueMany([
      { worker: w, payload: { name: 'D' }, options: { jobId: id('d'), after: [id('b'), id('c')] } },
      { worker: w, payload: { name: 'B' }, options: { jobId: id('b'), after: id('a') } },
      { worker: w, payload: { name: 'C' }, options: { jobId: id('c'), after: id('a') } },
      { worker: w, payload: { name: 'A', ms: 30 }, options: { jobId: id('a') } },
    ]);
    assert.equal(
      done.map((d) => d.jobId),
      [id('d'), id('b'), id('c'), id('a')],
      'outcomes in the items’ order',
    );
    await engine.waitForFinal([id('d')], { timeoutMs: 20_000 });
    const rd = ranOnce(ctx, 'D');
    assert.ok(rd.start >= ranOnce(ctx, 'B').end && rd.start >= ranOnce(ctx, 'C').end && ranOnce(ctx, 'B').start >= ranOnce(ctx, 'A').end);

    const cycle = await engine
      .enqueueMany([
        { worker: w, payload: { name: 'X' }, options: { jobId: id('x'), after: id('y') } },
        { worker: w, payload: { name: 'Y' }, options: { jobId: id('y'), after: id('x') } },
      ])
      .catch((e: unknown) => e);
    assert.ok(cycle instanceof EnqueueRejectedError);
    assert.match((cycle as Error).message, 'cycle');
    const unknown = await engine
      .enqueueMany([
        { worker: w, payload: { name: 'X' }, options: { jobId: id('x') } },
        { worker: w, payload: { name: 'Y' }, options: { jobId: id('y'), after: [id('x'), 'nowhere'] } },
      ])
      .catch((e: unknown) => e);
    assert.is((unknown as EnqueueRejectedError).reason, 'UnknownParent');
    assert.is(await engine.getJob(id('x')), undefined, 'nothing recorded');
    assert.is(await engine.getJob(id('y')), undefined);
  });

  test('the crash window: a parent ended while no releaser ran; the next engine start releases the child exactly once', async (ctx) => {
    const w = stepWorker(ctx);
    // An engine that only enqueues (never started: no releaser, no consumer).
    const producer = await engineOn(ctx, [w], false);
    const a = await producer.enqueue(w, { name: 'A' });
    const b = await producer.enqueue(w, { name: 'B' }, { after: a.jobId });
    const c = await producer.enqueue(w, { name: 'C' }, { after: b.jobId });
    // A's attempt as a process that died right after recording it would leave it.
    const jobs = makeJobStore(ctx.store, { engineVersion: 'test' });
    const loaded = await jobs.load(a.jobId)();
    assert.ok(E.isRight(loaded));
    const now = isoDate(new Date());
    const started = await jobs.transition(
      loaded.right,
      (s) => setToInProgress(s, { workerId: 'gone:1:x', backgroundJobId: 'm', startedAt: now }),
      {
        correlationId: a.jobId,
        causationId: 'test',
      },
    )();
    assert.ok(E.isRight(started));
    const completed = await jobs.transition(started.right, (s) => setToCompleted(s, { attempt: 1, completedAt: now, durationMs: 1 }), {
      correlationId: a.jobId,
      causationId: 'test',
    })();
    assert.ok(E.isRight(completed));
    assert.is((await producer.getJob(b.jobId))?.status, 'awaiting', 'B was not released: nothing followed A');

    // Two engines start at once: the sweep of both, racing, release B once; B's end then releases C.
    await Promise.all([engineOn(ctx, [w]), engineOn(ctx, [w])]);
    const [bv, cv] = (await ctx.engines[1]!.waitForFinal([b.jobId, c.jobId], { timeoutMs: 20_000 })) as JobView[];
    assert.is(bv!.status, 'completed');
    assert.is(cv!.status, 'completed');
    ranOnce(ctx, 'B');
    ranOnce(ctx, 'C');
    assert.is(ctx.runs.filter((r) => r.name === 'A').length, 0, 'A never ran here: its completion was recorded by "the crashed process"');
    const history = await ctx.engines[1]!.history(b.jobId);
    assert.is(history.filter((e) => e.event.type === 'JobReleased').length, 1);
    assert.is(history.filter((e) => e.event.type === 'JobStarted').length, 1);
  });

  test('list by status awaiting, and an operator cancels an awaiting job (its continuation is cancelled too)', async (ctx) => {
    const w = stepWorker(ctx);
    const engine = await engineOn(ctx, [w]);
    const gate = await engine.enqueue(w, { name: 'gate' }, { runAt: new Date(Date.now() + 60_000) });
    const b = await engine.enqueue(w, { name: 'B' }, { after: gate.jobId });
    const c = await engine.enqueue(w, { name: 'C' }, { after: b.jobId });
    // A shared server holds other runs' awaiting jobs too: this test's only.
    const mine = (l: readonly JobView[]) => l.filter((j) => j.queue === ctx.queue);
    const awaiting = await (async () => {
      for (let i = 0; i < 100; i++) {
        const l = mine(await engine.listJobs({ status: 'awaiting', limit: 1000 }));
        if (l.length === 2) return l;
        await new Promise((r) => setTimeout(r, 50));
      }
      return mine(await engine.listJobs({ status: 'awaiting', limit: 1000 }));
    })();
    assert.equal(awaiting.map((j) => j.jobId).sort(), [b.jobId, c.jobId].sort());
    await engine.cancel(b.jobId, { reason: 'not needed', by: 'ops' });
    const [cv] = await engine.waitForFinal([c.jobId], { timeoutMs: 20_000 });
    assert.is(cv!.status, 'cancelled');
    assert.match(cv!.cancelReason ?? '', 'was cancelled (not needed)');
  });

  if (kind === 'memory')
    test('a broker refusing a released child’s dispatch: the engine keeps publishing it without holding up other children; it runs once the broker takes it, with no restart', async (ctx) => {
      const w = stepWorker(ctx);
      const memory = makeMemoryBroker();
      // The broker refuses every dispatch of the jobs in `refused` (as RabbitMQ down would), and counts the tries.
      const refused = new Set<string>();
      const tries = new Map<string, number>();
      const broker: Broker = Object.assign(Object.create(memory) as Broker, {
        publish: (queue: string, message: Parameters<Broker['publish']>[1]) => {
          const { jobId } = JSON.parse(message.body.toString()) as { jobId: string };
          if (!refused.has(jobId)) return memory.publish(queue, message);
          tries.set(jobId, (tries.get(jobId) ?? 0) + 1);
          return TE.left({ _tag: 'BrokerUnavailable' as const, message: 'connection lost (injected)' });
        },
      });
      ctx.brokers.push(broker);
      const engine = await createEngine({ store: ctx.store, broker, workers: [w], acceptCommands: false });
      ctx.engines.push(engine);
      await engine.start();
      const tag = randomUUID().slice(0, 8);
      const [bId, eId] = [`B-${tag}`, `E-${tag}`];
      refused.add(bId).add(eId);
      const a = await engine.enqueue(w, { name: 'A', ms: 50 });
      // B and C are released by A's end, B first; D by X's, later.
      const b = await engine.enqueue(w, { name: 'B' }, { jobId: bId, after: a.jobId });
      const c = await engine.enqueue(w, { name: 'C' }, { after: a.jobId });
      const x = await engine.enqueue(w, { name: 'X', ms: 400 });
      const d = await engine.enqueue(w, { name: 'D' }, { after: x.jobId });
      assert.equal((await engine.getJob(a.jobId))?.children, [b.jobId, c.jobId]);
      const [cv, dv] = await engine.waitForFinal([c.jobId, d.jobId], { timeoutMs: 20_000 });
      assert.is(cv!.status, 'completed', 'C ran while B’s dispatch was refused');
      assert.is(dv!.status, 'completed', 'so did D, released later');
      const stuck = (await engine.getJob(b.jobId))!;
      assert.is(stuck.status, 'initial', 'B is released (recorded) but not dispatched');
      assert.ok(stuck.released !== undefined);
      assert.ok((tries.get(bId) ?? 0) >= 3, `B’s dispatch was tried again (${tries.get(bId)} times)`);

      // The broker answers again: B runs, on this same engine, once.
      refused.delete(bId);
      const [bv] = await engine.waitForFinal([b.jobId], { timeoutMs: 20_000 });
      assert.is(bv!.status, 'completed');
      ranOnce(ctx, 'B');
      assert.is(ctx.engines.length, 1, 'no other engine started');
      const history = await engine.history(b.jobId);
      assert.is(history.filter((e) => e.event.type === 'JobReleased').length, 1, 'released once');
      assert.is(history.filter((e) => e.event.type === 'JobStarted').length, 1, 'started once');

      // The retries end when the engine stops: E stays released for the next start, and nothing is published any more.
      const e = await engine.enqueue(w, { name: 'E' }, { jobId: eId, after: a.jobId });
      assert.is(e.job.status, 'initial', 'released by the enqueue (A was final)');
      await new Promise((r) => setTimeout(r, 300));
      await engine.stop({ gracePeriodMs: 0 });
      const triedE = tries.get(eId) ?? 0;
      assert.ok(triedE >= 2, `E’s dispatch was tried again (${triedE} times)`);
      await new Promise((r) => setTimeout(r, 1_000));
      assert.is(tries.get(eId), triedE, 'no try after the stop');
      assert.is((await engine.getJob(eId))?.status, 'initial');
    });

  test.run();
}
