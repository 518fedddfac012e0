import type { EventStore, StoreUnavailable } from '../eventStore/index.js';
import { jobStreamName } from '../job/index.js';
import { readJobEvents, toRecordedJobEvent, type RecordedJobEvent } from './jobStore.js';
import { storeRead } from './storeRead.js';

/** A job's stream being followed. */
export interface JobFollow {
  /** The last revision of the stream when following began (its history up to there was delivered first); -1 when the job did not exist. */
  readonly revision: number;
  /** Stops delivering; resolves once no handler is running. */
  stop(): Promise<void>;
}

/** What `followJob` calls. */
export interface FollowJobHandlers {
  /** Every event of the job, in revision order, each exactly once: the history first, then new events as they are appended. */
  readonly onEvent: (event: RecordedJobEvent) => void | Promise<void>;
  /** The subscription stopped for good (the store failed). */
  readonly onError?: (error: Error | StoreUnavailable) => void;
}

/**
 * Delivers a job's whole history, then each event appended to its stream
 * from then on, until stopped (`engine.follow`). Built on the event-store port
 * only, so it works with either adapter.
 *
 * No event is missed or repeated: the head of the log is taken before the
 * stream is read, the subscription starts after that head, and events at or
 * below the revision already delivered are dropped. The subscription filters
 * by the prefix `job-<id>`, which other streams share (`job-1` is a prefix of
 * `job-10`), so only events of exactly this stream are delivered.
 */
export const followJob = async (store: EventStore, jobId: string, handlers: FollowJobHandlers): Promise<JobFollow> => {
  const stream = jobStreamName(jobId);
  const head = await storeRead(store.headPosition());
  const read = await storeRead(readJobEvents(store, jobId));
  let delivered = -1;
  for (const e of read) {
    await handlers.onEvent(toRecordedJobEvent(e));
    delivered = e.revision;
  }
  const revision = delivered;
  const subscription = store.subscribe(
    { streamPrefix: stream, ...(head !== undefined ? { after: head } : {}) },
    {
      onEvent: async (e) => {
        if (e.streamId !== stream || e.revision <= delivered) return;
        delivered = e.revision;
        await handlers.onEvent(toRecordedJobEvent(e));
      },
      ...(handlers.onError !== undefined ? { onError: handlers.onError } : {}),
    },
  );
  return { revision, stop: () => subscription.stop() };
};
