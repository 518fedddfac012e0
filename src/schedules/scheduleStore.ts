import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import { PathReporter } from 'io-ts/lib/PathReporter.js';
import type { AppendError, EventStore, RecordedEvent, StoreUnavailable } from '../eventStore/index.js';
import { UndecodableEventError } from '../jobStore/index.js';
import { ScheduleEvent, scheduleIdOfStream, scheduleStreamName, scheduleStreamPrefix } from './events.js';
import { evolve, type ScheduleState } from './state.js';

/** A schedule's folded state and the revision it was read at (`no_stream` when it has no stream). */
export interface LoadedSchedule {
  readonly scheduleId: string;
  readonly state: ScheduleState;
  readonly revision: number | 'no_stream';
}

/** A schedule with no stream yet: what a fold starts from. */
export const noSchedule = (scheduleId: string): LoadedSchedule => ({ scheduleId, state: undefined, revision: 'no_stream' });

/** Decodes one stored event of a schedule stream; a defect (`UndecodableEventError`) when it does not decode. */
export const decodeScheduleEvent = (e: RecordedEvent): ScheduleEvent => {
  const decoded = ScheduleEvent.decode({ type: e.type, data: e.data });
  if (E.isLeft(decoded)) throw new UndecodableEventError(e.streamId, e.revision, e.type, PathReporter.report(decoded));
  return decoded.right;
};

/** Applies recorded events of the schedule's stream that follow `from`'s revision (others are already in it). */
export const applyRecorded = (from: LoadedSchedule, events: readonly RecordedEvent[]): LoadedSchedule => {
  let { state, revision } = from;
  for (const e of events) {
    if (revision !== 'no_stream' && e.revision <= revision) continue;
    state = evolve(state, decodeScheduleEvent(e));
    revision = e.revision;
  }
  return { scheduleId: from.scheduleId, state, revision };
};

/** Schedule streams over the event-store port: read and fold, append at the revision read. */
export interface ScheduleStore {
  /** Reads the stream (after `known`'s revision, when given) and folds it. */
  load(scheduleId: string, known?: LoadedSchedule): TE.TaskEither<StoreUnavailable, LoadedSchedule>;
  /** Every schedule stream, folded (removed ones included), and the position of the last schedule event read. */
  loadAll(): TE.TaskEither<StoreUnavailable, { readonly schedules: readonly LoadedSchedule[]; readonly position?: string }>;
  /** Appends at `schedule.revision`; `WrongExpectedRevision` means another process moved it first. */
  append(schedule: LoadedSchedule, events: readonly ScheduleEvent[], by?: string): TE.TaskEither<AppendError, LoadedSchedule>;
}

export const makeScheduleStore = (store: EventStore, meta: { readonly engineVersion: string; readonly origin: string }): ScheduleStore => {
  const load = (scheduleId: string, known?: LoadedSchedule) => {
    const from = known ?? noSchedule(scheduleId);
    return pipe(
      store.readStream(scheduleStreamName(scheduleId), from.revision === 'no_stream' ? {} : { fromRevision: from.revision + 1 }),
      // A schedule stream deleted for good by an operator is no schedule.
      TE.orElse((e) => (e._tag === 'StreamDeleted' ? TE.right([] as readonly RecordedEvent[]) : TE.left(e))),
      TE.map((events) => applyRecorded(from, events)),
    );
  };
  return {
    load,
    loadAll: () =>
      pipe(
        store.readAll({ streamPrefix: scheduleStreamPrefix }),
        TE.map((events) => {
          const byId = new Map<string, LoadedSchedule>();
          for (const e of events) {
            const id = scheduleIdOfStream(e.streamId);
            if (id === undefined) continue;
            byId.set(id, applyRecorded(byId.get(id) ?? noSchedule(id), [e]));
          }
          const last = events[events.length - 1];
          return { schedules: [...byId.values()], ...(last !== undefined ? { position: last.position } : {}) };
        }),
      ),
    append: (schedule, events, by) => {
      const metadata = {
        $correlationId: scheduleStreamName(schedule.scheduleId),
        $causationId: scheduleStreamName(schedule.scheduleId),
        engineVersion: meta.engineVersion,
        origin: meta.origin,
        ...(by !== undefined ? { by } : {}),
      };
      for (const e of events)
        if (!ScheduleEvent.is(e)) throw new TypeError(`refusing to append an invalid ${(e as { type: string }).type}`);
      return pipe(
        store.append(
          scheduleStreamName(schedule.scheduleId),
          events.map((e) => ({ id: randomUUID(), type: e.type, data: ScheduleEvent.encode(e).data, metadata })),
          { expectedRevision: schedule.revision },
        ),
        TE.map((r): LoadedSchedule => ({
          scheduleId: schedule.scheduleId,
          state: events.reduce(evolve, schedule.state),
          revision: r.nextExpectedRevision,
        })),
      );
    },
  };
};
