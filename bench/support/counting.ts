import type { Broker, Delivery, Disposition } from '../../src/broker/index.js';
import type { EventStore } from '../../src/eventStore/index.js';

/** What a counting proxy saw, by operation. */
export type Counts = Record<string, number>;

const bump = (counts: Counts, key: string, by = 1): void => {
  counts[key] = (counts[key] ?? 0) + by;
};

/**
 * Wraps an event store so that every call is counted (appends, events
 * appended by type, stream reads, events read, readAll pages, subscriptions).
 * Nothing else changes.
 */
export const countingStore = <S extends EventStore>(store: S, counts: Counts): S => ({
  ...store,
  kind: store.kind,
  append: (stream, events, options) => {
    const task = store.append(stream, events, options);
    return async () => {
      bump(counts, 'store.append');
      bump(counts, 'store.append.events', events.length);
      for (const e of events) bump(counts, `store.append.${e.type}`);
      const r = await task();
      if (r._tag === 'Left') bump(counts, `store.append.${r.left._tag}`);
      return r;
    };
  },
  readStream: (stream, options) => {
    const task = store.readStream(stream, options);
    return async () => {
      bump(counts, 'store.readStream');
      const r = await task();
      if (r._tag === 'Right') bump(counts, 'store.readStream.events', r.right.length);
      return r;
    };
  },
  readAll: (options) => {
    const task = store.readAll(options);
    return async () => {
      bump(counts, 'store.readAll');
      const r = await task();
      if (r._tag === 'Right') bump(counts, 'store.readAll.events', r.right.length);
      return r;
    };
  },
  subscribe: (options, handlers) => {
    bump(counts, 'store.subscribe');
    return store.subscribe(options, {
      ...handlers,
      onEvent: (event) => {
        bump(counts, 'store.subscription.events');
        return handlers.onEvent(event);
      },
    });
  },
  close: () => store.close(),
});

/**
 * Wraps an event store so that `onCompleted` hears each `JobCompleted` once
 * it is recorded, and nothing else is touched: `npm run bench` wraps the store
 * in this alone, so that counting costs jobtrail's figures nothing the peers do not pay.
 */
export const completionHook = <S extends EventStore>(store: S, onCompleted: () => void): S => ({
  ...store,
  kind: store.kind,
  append: (stream, events, options) => {
    const task = store.append(stream, events, options);
    if (!events.some((e) => e.type === 'JobCompleted')) return task;
    return async () => {
      const r = await task();
      if (r._tag === 'Right') onCompleted();
      return r;
    };
  },
  close: () => store.close(),
});

/** Wraps a broker so that publishes, deliveries and dispositions are counted. */
export const countingBroker = (broker: Broker, counts: Counts): Broker => ({
  ...broker,
  kind: broker.kind,
  publish: (queue, message) => {
    const task = broker.publish(queue, message);
    return async () => {
      bump(counts, 'broker.publish');
      bump(counts, 'broker.publish.bytes', message.body.length);
      return task();
    };
  },
  consume: (queue, handler, options) =>
    broker.consume(
      queue,
      async (delivery: Delivery): Promise<Disposition> => {
        bump(counts, 'broker.delivery');
        if (delivery.redelivered) bump(counts, 'broker.delivery.redelivered');
        const disposition = await handler(delivery);
        bump(counts, `broker.settle.${disposition._tag}`);
        return disposition;
      },
      options,
    ),
  close: () => broker.close(),
});
