import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import { PathReporter } from 'io-ts/lib/PathReporter.js';
import { fold, isFinal, isJobView, JobEvent, jobStreamName, type JobState, type JobView, type TransitionRejected } from '../job/index.js';
import type { AppendError, EventStore, ReadStreamError, RecordedEvent, StoreUnavailable } from '../eventStore/eventStore.js';
import { brandClass, ErrorCodes, JobtrailError } from '../errors/index.js';
import { traceCarrierOf, traceEntries, type TraceCarrier } from '../tracing/carrier.js';

/** A job event as stored, with where and when. */
export interface RecordedJobEvent {
  readonly event: JobEvent;
  readonly revision: number;
  readonly position: string;
  readonly id: string;
  readonly created: string;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** A job's folded state and the revision it was read at (`no_stream` when it has no stream). */
export interface LoadedJob {
  readonly jobId: string;
  readonly state: JobState;
  readonly revision: number | 'no_stream';
  /** The enqueue's trace context, as `JobEnqueued`'s metadata recorded it (docs/tracing.md); absent when none was. */
  readonly trace?: TraceCarrier;
}

/** Where an event came from: EventStoreDB's own metadata keys, so `$by_correlation_id` works. */
export interface Causation {
  readonly correlationId: string;
  readonly causationId: string;
  /** Who asked (a dashboard user, the CLI); recorded in metadata as `by`. */
  readonly by?: string;
  /** The trace context to record with the events (`traceparent`, `tracestate` in their metadata; docs/tracing.md). */
  readonly trace?: TraceCarrier;
}

/** An event in the store that no longer decodes: a defect, reported with its stream and revision. */
export class UndecodableEventError extends JobtrailError {
  static {
    brandClass(this, 'UndecodableEventError');
  }
  constructor(
    readonly stream: string,
    readonly revision: number,
    readonly type: string,
    readonly problems: readonly string[],
  ) {
    super(ErrorCodes.UndecodableEvent, `event ${stream}@${revision} (${type}) does not decode: ${problems.join('; ')}`);
    this.name = 'UndecodableEventError';
  }
}

/** Decodes one stored event of a job stream; throws `UndecodableEventError` when it does not decode. */
export const decodeJobEvent = (e: RecordedEvent): JobEvent => {
  const decoded = JobEvent.decode({ type: e.type, data: e.data });
  if (E.isLeft(decoded)) throw new UndecodableEventError(e.streamId, e.revision, e.type, PathReporter.report(decoded));
  return decoded.right;
};

/** A stored event of a job stream as the job's history shows it: decoded, with where and when. */
export const toRecordedJobEvent = (e: RecordedEvent): RecordedJobEvent => ({
  event: decodeJobEvent(e),
  revision: e.revision,
  position: e.position,
  id: e.id,
  created: e.created,
  metadata: e.metadata,
});

export type TransitionError = AppendError | TransitionRejected;

/** The view of a job known to exist (one a transition was just appended to): a defect otherwise. */
export const viewOf = (job: LoadedJob): JobView => {
  if (!isJobView(job.state)) throw new Error(`job "${job.jobId}" has no stream where one was just written or read: a defect`);
  return job.state;
};

/**
 * Job streams over the event-store port: read and fold, append a decision at
 * the revision that was read. Every event is validated by the io-ts codec on
 * the way in and on the way out.
 */
export interface JobStore {
  /** Reads the stream and folds it: exact. */
  load(jobId: string): TE.TaskEither<StoreUnavailable, LoadedJob>;
  /**
   * The job as this process last read or wrote it, if it still remembers it.
   * It may be stale (another process may have moved the job since): use it
   * only to decide an append, whose expected revision then catches staleness.
   */
  cached(jobId: string): LoadedJob | undefined;
  /**
   * Whether this process read or wrote the job's stream up to `revision`, found the job ended there, naming no
   * continuation: then the releaser need not read it back (src/conductor/continuations.ts). Asked once: the answer
   * is forgotten. False when it does not know (it remembers the last 10,000 such jobs).
   */
  endedChildless?(jobId: string, revision: number): boolean;
  history(jobId: string): TE.TaskEither<StoreUnavailable, readonly RecordedJobEvent[]>;
  /**
   * Appends `events` at `job.revision`. `WrongExpectedRevision` means another
   * process moved the job first: load again and decide again.
   */
  append(job: LoadedJob, events: readonly JobEvent[], causation: Causation): TE.TaskEither<AppendError, LoadedJob>;
  /** Runs a transition function on the loaded state and appends what it decided. */
  transition(
    job: LoadedJob,
    decide: (state: JobState) => E.Either<TransitionRejected, readonly JobEvent[]>,
    causation: Causation,
  ): TE.TaskEither<TransitionError, LoadedJob>;
}

/**
 * A job's recorded events. A job stream deleted for good (EventStoreDB's
 * tombstone, an operator's act) is a job that is not there: it reads as no
 * events, so a delivery for it is dropped as for an unknown job, and appends
 * to it are refused with `StreamDeleted`.
 */
export const readJobEvents = (store: EventStore, jobId: string): TE.TaskEither<StoreUnavailable, readonly RecordedEvent[]> =>
  pipe(
    store.readStream(jobStreamName(jobId)),
    TE.orElse((e: ReadStreamError) => (e._tag === 'StreamDeleted' ? TE.right([] as readonly RecordedEvent[]) : TE.left(e))),
  );

/** How many ended, childless jobs the job store remembers for the releaser (a few dozen bytes each). */
const endedChildlessKept = 10_000;

/**
 * Makes the job repository. `engineVersion`, and `origin` (the writing
 * process's worker id) when given, go into every event's metadata. It
 * remembers the last `cacheSize` unfinished jobs it read or wrote (default
 * 50 000, a few hundred bytes each): a job that has ended is forgotten, so
 * the room goes to the backlog, whose dispatches the cache saves a read each.
 */
export const makeJobStore = (
  store: EventStore,
  options: { readonly engineVersion: string; readonly origin?: string; readonly cacheSize?: number },
): JobStore => {
  const cacheSize = options.cacheSize ?? 50_000;
  const recent = new Map<string, LoadedJob>();
  // Jobs seen ended at a revision, with no continuation named: the revision.
  const childless = new Map<string, number>();
  const remember = (job: LoadedJob): LoadedJob => {
    recent.delete(job.jobId);
    if (isFinal(job.state)) {
      const s = job.state;
      if (isJobView(s) && (s.children === undefined || s.children.length === 0) && typeof job.revision === 'number') {
        childless.delete(job.jobId);
        childless.set(job.jobId, job.revision);
        if (childless.size > endedChildlessKept) childless.delete(childless.keys().next().value as string);
      }
      return job;
    }
    recent.set(job.jobId, job);
    if (recent.size > cacheSize) recent.delete(recent.keys().next().value as string);
    return job;
  };
  const readJobStream = (jobId: string) => readJobEvents(store, jobId);
  const history = (jobId: string) =>
    pipe(
      readJobStream(jobId),
      TE.map((events) => events.map(toRecordedJobEvent)),
    );

  const load = (jobId: string) =>
    pipe(
      readJobStream(jobId),
      TE.map((events): LoadedJob => {
        const state = fold(events.map(decodeJobEvent));
        const last = events[events.length - 1];
        const trace = events[0]?.type === 'JobEnqueued' ? traceCarrierOf(events[0].metadata) : undefined;
        return remember({
          jobId,
          state,
          revision: last === undefined ? 'no_stream' : last.revision,
          ...(trace !== undefined ? { trace } : {}),
        });
      }),
    );

  const append = (job: LoadedJob, events: readonly JobEvent[], causation: Causation) => {
    for (const e of events) {
      // The codec checks every event on its way in (`is` is the cheap check; the decoder reports why).
      if (!JobEvent.is(e))
        throw new TypeError(
          `refusing to append an invalid ${(e as { type: string }).type}: ${PathReporter.report(JobEvent.decode(e)).join('; ')}`,
        );
    }
    const metadata = {
      $correlationId: causation.correlationId,
      $causationId: causation.causationId,
      engineVersion: options.engineVersion,
      ...(options.origin !== undefined ? { origin: options.origin } : {}),
      ...(causation.by !== undefined ? { by: causation.by } : {}),
      ...(causation.trace !== undefined ? traceEntries(causation.trace) : {}),
    };
    const appending = store.append(
      jobStreamName(job.jobId),
      events.map((e) => ({ id: randomUUID(), type: e.type, data: JobEvent.encode(e).data, metadata })),
      { expectedRevision: job.revision },
    );
    // The hot path of every transition: a plain continuation, not a pipe of TaskEither combinators.
    return () =>
      appending().then((r): E.Either<AppendError, LoadedJob> => {
        if (E.isLeft(r)) {
          if (r.left._tag === 'WrongExpectedRevision') recent.delete(job.jobId);
          return r;
        }
        // The stream's first append (`JobEnqueued`) sets the job's trace context; later ones keep it.
        const trace = job.revision === 'no_stream' ? causation.trace : job.trace;
        return E.right(
          remember({
            jobId: job.jobId,
            state: fold(events, job.state),
            revision: r.right.nextExpectedRevision,
            ...(trace !== undefined ? { trace } : {}),
          }),
        );
      });
  };

  return {
    load,
    cached: (jobId) => recent.get(jobId),
    endedChildless: (jobId, revision) => {
      const known = childless.get(jobId);
      if (known === undefined) return false;
      childless.delete(jobId);
      return known === revision;
    },
    history,
    append,
    transition: (job, decide, causation) => {
      const decided = decide(job.state);
      return E.isLeft(decided) ? TE.left(decided.left) : append(job, decided.right, causation);
    },
  };
};
