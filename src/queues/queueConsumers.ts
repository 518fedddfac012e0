import type { Consumer } from '../broker/index.js';
import { consumeWorkQueue, makeWorkHandler, type ConductorDeps, type RunningAttempts } from '../conductor/index.js';
import type { EventStore, RecordedEvent, Subscription } from '../eventStore/index.js';
import { storeRead } from '../jobStore/index.js';
import { queueOfStream, queueStreamPrefix } from './events.js';
import { applyRecorded, noQueueStream, type LoadedQueue, type QueueStore } from './queueStore.js';
import { openQueue, type QueueControl } from './state.js';

/** A started engine's consumers of its work queues, each stopped while its queue is paused. */
export interface QueueConsumers {
  /** Whether `queue` is paused, as this process last read its stream. */
  isPaused(queue: string): boolean;
  /** The queue's control state as this process follows it (every queue stream is followed). */
  control(queue: string): QueueControl;
  /** The queues this process consumes now (registered and not paused). */
  consuming(): readonly string[];
  /** Resolves once this process has applied every change of the queue streams up to now (tests; `pauseQueue`). */
  settled(): Promise<void>;
  /** Stops following the queue streams and every consumer; resolves once their running handlers returned. */
  stop(): Promise<void>;
}

interface Entry {
  /** The consumer taking work now; `undefined` while the queue is paused (or between a stop and a start). */
  consumer: Consumer | undefined;
  /** Consumers stopped by a pause whose running handlers have not all returned. */
  readonly stopping: Set<Promise<void>>;
}

/**
 * Consumes each queue of the registered workers unless it is paused, and follows the `queue-*` streams
 * (docs/queues.md): a `QueuePaused` stops the queue's consumer (running handlers finish; deliveries that have not
 * started their attempt go back to the queue), a `QueueResumed` starts it again. At start the streams are read first,
 * so that a paused queue is never consumed at all. Each queue's handler admits no new attempt once its queue is paused,
 * even before the consumer's stop took effect.
 */
export const startQueueConsumers = async (
  deps: ConductorDeps & { readonly store: EventStore },
  running: RunningAttempts,
  queues: QueueStore,
): Promise<QueueConsumers> => {
  const { log } = deps;
  const known = new Map<string, LoadedQueue>();
  const entries = new Map<string, Entry>();
  const isPaused = (queue: string): boolean => known.get(queue)?.state.paused === true;
  let stopped = false;
  let chain: Promise<void> = Promise.resolve();
  const serially = (what: string, f: () => Promise<void>): Promise<void> =>
    (chain = chain.then(async () => {
      if (stopped) return;
      try {
        await f();
      } catch (error) {
        log.error({ err: (error as Error)?.stack ?? String(error) }, `queue consumers: ${what} failed`);
      }
    }));

  const handlerOf = (queue: string) => {
    const accepting = deps.accepting;
    return makeWorkHandler(
      {
        ...deps,
        accepting: () => (accepting?.() ?? true) && !isPaused(queue),
        admits: () => !stopped && !isPaused(queue),
      },
      running,
    );
  };

  /** Makes the queue's consumer what its stream says: started when open, stopped (without waiting) when paused. */
  const reconcile = async (queue: string): Promise<void> => {
    const entry = entries.get(queue);
    if (entry === undefined || stopped) return;
    if (isPaused(queue) && entry.consumer !== undefined) {
      const consumer = entry.consumer;
      entry.consumer = undefined;
      const stopping = consumer
        .stop()
        .catch((error: unknown) => log.warn({ queue, err: (error as Error).message }, 'stopping a consumer failed'));
      entry.stopping.add(stopping);
      void stopping.finally(() => entry.stopping.delete(stopping));
      log.info({ queue }, 'queue paused: stopped taking work from it');
    } else if (!isPaused(queue) && entry.consumer === undefined) {
      entry.consumer = await consumeWorkQueue(deps, handlerOf(queue), queue);
      log.info({ queue }, 'queue open: taking work from it');
    }
  };

  /** A failed start of a resumed queue's consumer (the broker is down) is tried again until it succeeds or is moot. */
  const reconcileOrRetry = (queue: string, delayMs = 1_000): Promise<void> =>
    serially(`following queue "${queue}"`, async () => {
      try {
        await reconcile(queue);
      } catch (error) {
        log.error({ queue, err: (error as Error).message, retryInMs: delayMs }, 'could not start consuming a resumed queue; retrying');
        const timer = setTimeout(() => void reconcileOrRetry(queue, Math.min(30_000, delayMs * 2)), delayMs);
        timer.unref();
      }
    });

  const onEvent = (e: RecordedEvent) =>
    serially('following the queue streams', async () => {
      const queue = queueOfStream(e.streamId);
      if (queue === undefined) return;
      const before = known.get(queue) ?? noQueueStream(queue);
      const expected = before.revision === 'no_stream' ? 0 : before.revision + 1;
      if (e.revision < expected) return;
      // A gap (a subscription that resumed late): read the stream for what is missing.
      known.set(
        queue,
        e.revision === expected ? applyRecorded(before, [e]) : await storeRead(queues.load(queue, before), `queue "${queue}"`),
      );
      if (entries.has(queue)) void reconcileOrRetry(queue);
    });

  // Start: every queue stream as recorded, then a consumer for each open queue, then the changes as they come.
  const all = await storeRead(queues.loadAll(), 'queue streams');
  for (const loaded of all.queues) known.set(loaded.queue, loaded);
  const started: Consumer[] = [];
  try {
    for (const queue of deps.registry.queues) {
      const entry: Entry = { consumer: undefined, stopping: new Set() };
      entries.set(queue, entry);
      if (isPaused(queue)) {
        log.warn({ queue, by: known.get(queue)?.state.by, since: known.get(queue)?.state.changedAt }, 'queue is paused: not consuming it');
        continue;
      }
      entry.consumer = await consumeWorkQueue(deps, handlerOf(queue), queue);
      started.push(entry.consumer);
    }
  } catch (error) {
    await Promise.all(started.map((c) => c.stop()));
    throw error;
  }
  const subscription: Subscription = deps.store.subscribe(
    { streamPrefix: queueStreamPrefix, ...(all.position !== undefined ? { after: all.position } : {}) },
    { onEvent, onError: (error) => log.error({ err: error.message }, 'queue consumers: following the queue streams stopped') },
  );

  return {
    isPaused,
    control: (queue) => known.get(queue)?.state ?? openQueue(queue),
    consuming: () => [...entries].flatMap(([queue, e]) => (e.consumer !== undefined ? [queue] : [])),
    settled: () => chain,
    stop: async () => {
      await subscription.stop();
      stopped = true;
      await chain;
      await Promise.all(
        [...entries.values()].flatMap((e) => {
          const consumer = e.consumer;
          e.consumer = undefined;
          return [...(consumer !== undefined ? [consumer.stop()] : []), ...e.stopping];
        }),
      );
    },
  };
};
