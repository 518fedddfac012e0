import { setTimeout as sleep } from 'node:timers/promises';
import * as E from 'fp-ts/lib/Either.js';
import type { EventStore, StoreUnavailable, Subscription } from '../eventStore/index.js';
import {
  addContinuation,
  decideContinuation,
  endsJob,
  isJobView,
  isoDate,
  jobIdOfStream,
  jobStreamPrefix,
  type JobState,
  type JobView,
} from '../job/index.js';
import { maxConflictRounds, publishAttempt, type ConductorDeps } from './dispatch.js';

/*
 * Continuations (docs/continuations.md). A continuation is recorded first,
 * `awaiting`; then a `JobContinuationAdded` naming it is appended to each
 * parent's stream. From then on, whoever sees a parent end (the releaser of
 * every started engine, or the enqueuer when a parent had ended already)
 * evaluates the children the parent names: every decision is one append at
 * the child's revision, so racing processes record it once, and evaluating
 * again is a no-op. A crash anywhere in between leaves an `awaiting` job,
 * which the start-up sweep links and evaluates again.
 */

/** What evaluating a continuation did. */
export type ContinuationOutcome = 'none' | 'waiting' | 'released' | 'cancelled';

const unavailable = (message: string): StoreUnavailable => ({ _tag: 'StoreUnavailable', message });

/**
 * Appends `JobContinuationAdded` naming `child` to each of its parents that
 * does not name it yet, each at the revision read (a parent that moved in
 * between is read again: its end and this link are then ordered, and the
 * caller's evaluation afterwards covers an end that came first). Idempotent.
 */
export const linkContinuation = async (
  deps: ConductorDeps,
  child: JobView,
  causationId: string,
): Promise<E.Either<StoreUnavailable, void>> => {
  for (const parentId of child.after ?? []) {
    for (let round = 1; ; round++) {
      const loaded = await deps.jobs.load(parentId)();
      if (E.isLeft(loaded)) return loaded;
      const parent = loaded.right.state;
      // A parent with no stream (deleted for good since) cannot name it; the evaluation cancels the child.
      if (!isJobView(parent) || parent.children?.includes(child.jobId)) break;
      const r = await deps.jobs.transition(loaded.right, (s) => addContinuation(s, { childJobId: child.jobId, at: isoDate(deps.now()) }), {
        correlationId: child.jobId,
        causationId,
      })();
      if (E.isRight(r)) break;
      if (r.left._tag === 'StoreUnavailable') return E.left(r.left);
      if (r.left._tag !== 'WrongExpectedRevision') break;
      if (round >= maxConflictRounds)
        return E.left(unavailable(`parent "${parentId}" kept moving while continuation "${child.jobId}" was being linked to it`));
    }
  }
  return E.right(undefined);
};

/**
 * Evaluates one continuation from its parents' streams: releases it (and
 * dispatches its first attempt, for `runAt` if it has one), cancels it with
 * the reason (and then evaluates its own children: a cancel ends it), or
 * leaves it waiting. Nothing happens to a job that is not `awaiting`.
 */
export const evaluateContinuation = async (
  deps: ConductorDeps,
  childId: string,
  causationId: string,
): Promise<E.Either<StoreUnavailable, ContinuationOutcome>> => {
  for (let round = 1; round <= maxConflictRounds; round++) {
    const loaded = await deps.jobs.load(childId)();
    if (E.isLeft(loaded)) return loaded;
    const child = loaded.right.state;
    if (!isJobView(child) || child.status !== 'awaiting') return E.right('none');
    const parents = new Map<string, JobState>();
    for (const id of child.after ?? []) {
      const p = await deps.jobs.load(id)();
      if (E.isLeft(p)) return p;
      parents.set(id, p.right.state);
    }
    const verdict = decideContinuation(child, parents, isoDate(deps.now()));
    // A rejection here is the state machine refusing what it decided itself: a defect.
    if (E.isLeft(verdict)) throw new Error(`continuation "${childId}": ${verdict.left.message}`);
    const v = verdict.right;
    if (v.kind === 'none') return E.right('none');
    if (v.kind === 'wait') return E.right('waiting');
    const r = await deps.jobs.append(loaded.right, v.events, { correlationId: childId, causationId })();
    if (E.isLeft(r)) {
      if (r.left._tag === 'StoreUnavailable') return E.left(r.left);
      if (r.left._tag === 'WrongExpectedRevision') continue;
      // The child's stream was deleted for good, or the store refuses the event: nothing to record.
      deps.log.error({ jobId: childId, err: r.left.message }, 'could not record the release of a continuation');
      return E.right('none');
    }
    const view = r.right.state;
    if (v.kind === 'cancel') {
      deps.log.info({ jobId: childId, reason: v.reason }, 'continuation cancelled');
      await evaluateChildren(deps, view, causationId);
      return E.right('cancelled');
    }
    if (isJobView(view)) await dispatchReleased(deps, view);
    return E.right('released');
  }
  return E.left(unavailable(`continuation "${childId}" kept moving while it was being released`));
};

/** Publishes the first dispatch of a released continuation, for `runAt` if it has one. */
const publishFirst = (deps: Pick<ConductorDeps, 'broker' | 'now'>, view: JobView) =>
  publishAttempt(deps, view, view.attempts + 1, view.runAt !== undefined ? Date.parse(view.runAt) - deps.now().getTime() : 0);

/**
 * Publishes the first attempt of a released continuation. A broker failure
 * hands it to `retryDispatch` (a started engine keeps publishing it in the
 * background); without one it is logged, and the next start's sweep dispatches it.
 */
const dispatchReleased = async (deps: ConductorDeps, view: JobView): Promise<void> => {
  const p = await publishFirst(deps, view);
  if (E.isRight(p)) return;
  if (deps.retryDispatch?.(view))
    deps.log.warn(
      { jobId: view.jobId, err: p.left.message },
      'a continuation was released but its dispatch could not be published; publishing it again until the broker takes it',
    );
  else
    deps.log.error(
      { jobId: view.jobId, err: p.left.message },
      'a continuation was released but its dispatch could not be published; an engine start (or --recover) dispatches it',
    );
};

/** The dispatches of released continuations that a started engine keeps publishing until the broker takes them. */
export interface DispatchRetries {
  /** Takes on `view`'s first dispatch (once per job at a time); false once stopped. */
  add(view: JobView): boolean;
  /** How many dispatches are being retried. */
  readonly size: number;
  /** Ends every retry (an attempt being published is awaited); `add` refuses from then on. */
  stop(): Promise<void>;
}

/**
 * The releaser's dispatch retries: each failed first dispatch of a released
 * continuation is published again after `delayMs(tries)`, on its own (the
 * releaser goes on with other children meanwhile), until the broker takes it
 * or `stop`. Only the dispatch is retried: the release is recorded. A dispatch
 * that turns out to be a second one of the same attempt is stale when it is
 * delivered, and acked (docs/architecture.md, "What a delivery means").
 */
export const makeDispatchRetries = (
  deps: Pick<ConductorDeps, 'broker' | 'now' | 'log'>,
  delayMs: (tries: number) => number,
): DispatchRetries => {
  const stopped = new AbortController();
  const pending = new Map<string, Promise<void>>();
  const retry = async (view: JobView): Promise<void> => {
    for (let tries = 1; ; tries++) {
      try {
        await sleep(delayMs(tries), undefined, { signal: stopped.signal });
      } catch {
        deps.log.warn(
          { jobId: view.jobId },
          'the engine stopped before a released continuation could be dispatched; the next start does it',
        );
        return;
      }
      const p = await publishFirst(deps, view);
      if (E.isRight(p)) return deps.log.info({ jobId: view.jobId, tries }, 'a released continuation was dispatched after all');
      if (tries % 20 === 0)
        deps.log.warn({ jobId: view.jobId, tries, err: p.left.message }, 'a released continuation still cannot be dispatched');
    }
  };
  return {
    add: (view) => {
      if (stopped.signal.aborted) return false;
      if (!pending.has(view.jobId))
        pending.set(
          view.jobId,
          retry(view).finally(() => pending.delete(view.jobId)),
        );
      return true;
    },
    get size() {
      return pending.size;
    },
    stop: async () => {
      stopped.abort();
      await Promise.all(pending.values());
    },
  };
};

/** Evaluates each child a job names, logging what could not be evaluated (the start-up sweep finds it again). */
const evaluateChildren = async (deps: ConductorDeps, parent: JobState, causationId: string): Promise<void> => {
  if (!isJobView(parent)) return;
  for (const childId of parent.children ?? []) {
    const r = await evaluateWithRetries(deps, childId, causationId);
    if (E.isLeft(r))
      deps.log.error(
        { jobId: childId, parent: parent.jobId, err: r.left.message },
        'could not evaluate a continuation; the next engine start evaluates it',
      );
  }
};

const evaluateWithRetries = async (deps: ConductorDeps, childId: string, causationId: string) => {
  for (let tries = 1; ; tries++) {
    const r = await evaluateContinuation(deps, childId, causationId);
    // A store outage: try a few times (the subscription waits meanwhile), then leave it to the next start's sweep.
    if (E.isRight(r) || tries >= 6 || !(await deps.backoff(tries))) return r;
  }
};

/**
 * The releaser: follows every job event after `after` (the head when the
 * engine started; the sweep covers what came before) and, for each event
 * that ends a job, evaluates the continuations that job names. Every started
 * engine runs one; they race harmlessly (each decision is an append at the
 * child's revision).
 */
export const watchContinuations = (deps: ConductorDeps & { readonly store: EventStore }, after: string | undefined): Subscription => {
  const childless = makeChildlessStreams(childlessStreamsKept);
  return deps.store.subscribe(
    // Only a JobErrored's data is read here (whether it ends the job): the others' need not be decoded.
    { streamPrefix: jobStreamPrefix, ...(after !== undefined ? { after } : {}), dataFor: ['JobErrored'] },
    {
      onEvent: async (e) => {
        const seenWhole = childless.see(e);
        if (!endsJob(e)) return;
        // Every event of the stream up to its end went by here and none named a child: nothing to evaluate,
        // no read. A link appended after the end is evaluated by its linker (`linkContinuation`'s callers).
        if (seenWhole) return;
        const id = jobIdOfStream(e.streamId);
        if (id === undefined) return;
        // This process read or wrote the stream up to this very event and found no child named (a stream first
        // seen midway, such as a backlog enqueued before this engine started): no read either.
        if (deps.jobs.endedChildless?.(id, e.revision) === true) return;
        const loaded = await deps.jobs.load(id)();
        if (E.isLeft(loaded))
          return deps.log.error({ jobId: id, err: loaded.left.message }, 'could not read a job that ended, for its continuations');
        // Most jobs have no continuation: one read, nothing more.
        await evaluateChildren(deps, loaded.right.state, `release:${e.id}`);
      },
      onError: (error) => deps.log.error({ err: error.message }, 'stopped following jobs for their continuations'),
    },
  );
};

/** How many job streams the releaser follows from their first event at most (a few dozen bytes each). */
const childlessStreamsKept = 50_000;

/**
 * The job streams whose every event, from revision 0, the releaser's
 * subscription delivered, none of them a `JobContinuationAdded`: each with
 * the revision it expects next. `see` takes every event in the
 * subscription's order and says whether the stream, up to and including this
 * event, is one of them; it forgets a stream when it ends, when a child is
 * named, at a gap or a repeat (read the stream then, as before), and the
 * oldest beyond `max`.
 */
export const makeChildlessStreams = (max: number) => {
  const next = new Map<string, number>();
  return {
    see(e: { readonly streamId: string; readonly revision: number; readonly type: string; readonly data: unknown }): boolean {
      const expected = e.revision === 0 ? 0 : next.get(e.streamId);
      next.delete(e.streamId);
      if (expected !== e.revision || e.type === 'JobContinuationAdded') return false;
      if (!endsJob(e)) {
        next.set(e.streamId, e.revision + 1);
        if (next.size > max) next.delete(next.keys().next().value as string);
      }
      return true;
    },
    get size() {
      return next.size;
    },
  };
};

/** What the start-up sweep did. */
export interface ContinuationSweep {
  readonly released: number;
  readonly cancelled: number;
  readonly waiting: number;
  /** Released continuations that had not started, dispatched again. */
  readonly redispatched: number;
}

/**
 * The start-up sweep, for what a crash left between a parent's end and its
 * children's release: each `awaiting` job among `jobIds` is linked to its
 * parents again (an enqueue may have crashed before linking) and evaluated.
 * With `redispatch`, a released continuation that has not started yet gets its
 * first dispatch again (a release may have crashed before its publish; a
 * duplicate dispatch is harmless).
 */
export const sweepContinuations = async (
  deps: ConductorDeps,
  jobIds: Iterable<string>,
  options: { readonly redispatch: boolean },
): Promise<ContinuationSweep> => {
  const counts = { released: 0, cancelled: 0, waiting: 0, redispatched: 0 };
  for (const jobId of jobIds) {
    const loaded = await deps.jobs.load(jobId)();
    if (E.isLeft(loaded)) {
      deps.log.error({ jobId, err: loaded.left.message }, 'the continuation sweep could not read a job');
      continue;
    }
    const view = loaded.right.state;
    if (!isJobView(view)) continue;
    if (view.status === 'initial' && view.attempts === 0 && view.released !== undefined) {
      if (options.redispatch) {
        await dispatchReleased(deps, view);
        counts.redispatched++;
      }
      continue;
    }
    if (view.status !== 'awaiting') continue;
    const linked = await linkContinuation(deps, view, 'sweep');
    const r = E.isLeft(linked) ? linked : await evaluateWithRetries(deps, jobId, 'sweep');
    if (E.isLeft(r)) {
      deps.log.error({ jobId, err: r.left.message }, 'the continuation sweep could not evaluate a job');
      continue;
    }
    if (r.right === 'released') counts.released++;
    else if (r.right === 'cancelled') counts.cancelled++;
    else if (r.right === 'waiting') counts.waiting++;
  }
  return counts;
};
