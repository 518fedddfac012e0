import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { fold, JobEvent, jobStreamName } from '../job/index.js';
import { wrongExpectedRevision, type AppendError } from '../eventStore/index.js';
import type { JobStore, LoadedJob, RecordedJobEvent } from '../jobStore/index.js';

/**
 * The job repository over an array per job, for `runAction`: the same
 * checks of the codec and of the expected revision as the real one, no store.
 */
export const makeMemoryJobStore = (
  now: () => Date,
): JobStore & { read(jobId: string): LoadedJob; events(jobId: string): readonly RecordedJobEvent[] } => {
  const streams = new Map<string, RecordedJobEvent[]>();
  const read = (jobId: string): LoadedJob => {
    const events = streams.get(jobId) ?? [];
    const state = fold(events.map((e) => e.event));
    return { jobId, state, revision: events.length === 0 ? 'no_stream' : events.length - 1 };
  };
  const store = {
    load: (jobId: string) => async () => E.right(read(jobId)),
    cached: (jobId: string) => read(jobId),
    read,
    history: (jobId: string) => async () => E.right(streams.get(jobId) ?? []),
    events: (jobId: string) => streams.get(jobId) ?? [],
    append:
      (job: LoadedJob, events: readonly JobEvent[]): TE.TaskEither<AppendError, LoadedJob> =>
      async () => {
        for (const e of events) if (!JobEvent.is(e)) throw new TypeError(`refusing to append an invalid ${(e as { type: string }).type}`);
        const stream = streams.get(job.jobId) ?? [];
        const actual = stream.length === 0 ? 'no_stream' : stream.length - 1;
        if (actual !== job.revision) return E.left(wrongExpectedRevision(jobStreamName(job.jobId), job.revision, actual));
        for (const event of events)
          stream.push({
            event,
            revision: stream.length,
            position: String(stream.length),
            id: `${job.jobId}:${stream.length}`,
            created: now().toISOString(),
            metadata: {},
          });
        streams.set(job.jobId, stream);
        return E.right(read(job.jobId));
      },
    transition: (job: LoadedJob, decide: Parameters<JobStore['transition']>[1]) => {
      const decided = decide(job.state);
      return E.isLeft(decided) ? async () => E.left(decided.left) : store.append(job, decided.right);
    },
  };
  return store;
};
