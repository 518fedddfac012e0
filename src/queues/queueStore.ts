import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import { PathReporter } from 'io-ts/lib/PathReporter.js';
import type { AppendError, EventStore, RecordedEvent, StoreUnavailable } from '../eventStore/index.js';
import { UndecodableEventError } from '../jobStore/index.js';
import { QueueEvent, queueOfStream, queueStreamName, queueStreamPrefix } from './events.js';
import { evolve, openQueue, type QueueControl } from './state.js';

/** A queue's control state and the revision of its stream it was read at (`no_stream` when it has none). */
export interface LoadedQueue {
  readonly queue: string;
  readonly state: QueueControl;
  readonly revision: number | 'no_stream';
}

/** A queue with no stream yet. */
export const noQueueStream = (queue: string): LoadedQueue => ({ queue, state: openQueue(queue), revision: 'no_stream' });

/** Decodes one stored event of a queue stream; a defect (`UndecodableEventError`) when it does not decode. */
export const decodeQueueEvent = (e: RecordedEvent): QueueEvent => {
  const decoded = QueueEvent.decode({ type: e.type, data: e.data });
  if (E.isLeft(decoded)) throw new UndecodableEventError(e.streamId, e.revision, e.type, PathReporter.report(decoded));
  return decoded.right;
};

/** Applies the recorded events of the queue's stream that follow `from`'s revision (others are in it already). */
export const applyRecorded = (from: LoadedQueue, events: readonly RecordedEvent[]): LoadedQueue => {
  let { state, revision } = from;
  for (const e of events) {
    if (revision !== 'no_stream' && e.revision <= revision) continue;
    state = evolve(state, decodeQueueEvent(e));
    revision = e.revision;
  }
  return { queue: from.queue, state, revision };
};

/** Queue streams over the event-store port: read and fold, append at the revision read. */
export interface QueueStore {
  /** Reads the stream (after `known`'s revision, when given) and folds it. */
  load(queue: string, known?: LoadedQueue): TE.TaskEither<StoreUnavailable, LoadedQueue>;
  /** Every queue stream, folded, and the position of the last queue event read (to follow them from). */
  loadAll(): TE.TaskEither<StoreUnavailable, { readonly queues: readonly LoadedQueue[]; readonly position?: string }>;
  /** Appends at `loaded.revision`; `WrongExpectedRevision` means another process changed it first. */
  append(loaded: LoadedQueue, events: readonly QueueEvent[], by?: string): TE.TaskEither<AppendError, LoadedQueue>;
}

export const makeQueueStore = (store: EventStore, meta: { readonly engineVersion: string; readonly origin: string }): QueueStore => ({
  load: (queue, known) => {
    const from = known ?? noQueueStream(queue);
    return pipe(
      store.readStream(queueStreamName(queue), from.revision === 'no_stream' ? {} : { fromRevision: from.revision + 1 }),
      // A queue stream deleted for good by an operator is a queue nobody paused.
      TE.orElse((e) => (e._tag === 'StreamDeleted' ? TE.right([] as readonly RecordedEvent[]) : TE.left(e))),
      TE.map((events) => applyRecorded(from, events)),
    );
  },
  loadAll: () =>
    pipe(
      store.readAll({ streamPrefix: queueStreamPrefix }),
      TE.map((events) => {
        const byQueue = new Map<string, LoadedQueue>();
        for (const e of events) {
          const queue = queueOfStream(e.streamId);
          if (queue === undefined) continue;
          byQueue.set(queue, applyRecorded(byQueue.get(queue) ?? noQueueStream(queue), [e]));
        }
        const last = events[events.length - 1];
        return { queues: [...byQueue.values()], ...(last !== undefined ? { position: last.position } : {}) };
      }),
    ),
  append: (loaded, events, by) => {
    const stream = queueStreamName(loaded.queue);
    const metadata = {
      $correlationId: stream,
      $causationId: stream,
      engineVersion: meta.engineVersion,
      origin: meta.origin,
      ...(by !== undefined ? { by } : {}),
    };
    for (const e of events) if (!QueueEvent.is(e)) throw new TypeError(`refusing to append an invalid ${(e as { type: string }).type}`);
    return pipe(
      store.append(
        stream,
        events.map((e) => ({ id: randomUUID(), type: e.type, data: QueueEvent.encode(e).data, metadata })),
        { expectedRevision: loaded.revision },
      ),
      TE.map((r): LoadedQueue => ({ queue: loaded.queue, state: events.reduce(evolve, loaded.state), revision: r.nextExpectedRevision })),
    );
  },
});
