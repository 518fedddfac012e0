import { ConnectionUnavailableError, type LiveConnection, type RabbitConnection } from './rabbitConnection.js';
import { sleep } from './sleep.js';

/** Milliseconds left until `deadline` (epoch milliseconds), at least 0. */
export const remaining = (deadline: number): number => Math.max(0, deadline - Date.now());

/** `work`, or a `ConnectionUnavailableError` saying `describeTimeout()` if `deadline` (may be `Infinity`) comes first. */
export const beforeDeadline = async <A>(deadline: number, work: Promise<A>, describeTimeout: () => string): Promise<A> => {
  if (!Number.isFinite(deadline)) return work;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectionUnavailableError(describeTimeout())), remaining(deadline));
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
};

/**
 * Keeps a channel attached (a consumer's, a reply channel's): attaches, waits
 * for the channel to end, attaches again, backing off between failures, for as
 * long as `running()`. The first attach gets `timeoutMs`: its failure aborts
 * `stopSignal` and rejects `attached`; later failures are retried.
 */
export const keepAttached = (o: {
  readonly attach: (timeoutMs: number) => Promise<{ readonly ended: Promise<void> }>;
  readonly running: () => boolean;
  readonly stopSignal: AbortController;
  readonly timeoutMs: number;
  readonly minDelay: number;
  readonly maxDelay: number;
  readonly onRetry: (delay: number, err: unknown) => void;
  readonly onEnded: () => void;
}): { readonly attached: Promise<void>; readonly done: Promise<void> } => {
  let done: Promise<void> = Promise.resolve();
  const attached = new Promise<void>((resolveFirst, rejectFirst) => {
    let first = true;
    const loop = async (): Promise<void> => {
      let delay = o.minDelay;
      while (o.running()) {
        let ended: Promise<void>;
        try {
          ({ ended } = await o.attach(first ? o.timeoutMs : Number.POSITIVE_INFINITY));
        } catch (err) {
          if (first) {
            o.stopSignal.abort();
            rejectFirst(err);
            return;
          }
          if (!o.stopSignal.signal.aborted) o.onRetry(delay, err);
          await sleep(delay, o.stopSignal.signal);
          delay = Math.min(o.maxDelay, delay * 2);
          continue;
        }
        if (first) {
          first = false;
          resolveFirst();
        }
        delay = o.minDelay;
        await ended;
        o.onEnded();
        if (!o.stopSignal.signal.aborted) await sleep(o.minDelay, o.stopSignal.signal);
      }
    };
    done = loop();
  });
  return { attached, done };
};

/** Where publishes get their channel. */
export interface ChannelSource<C> {
  /** The channel if it is open on the current connection, without waiting. */
  ready(): C | undefined;
  /** The channel, waiting for the connection and opening it if need be, until `deadline`. */
  get(deadline: number): Promise<C>;
}

/** One channel per connection, opened on first use and reopened when it closed. */
export const makeChannelSlot = <C extends { readonly generation: number; isOpen(): boolean }>(
  connection: RabbitConnection,
  open: (live: LiveConnection) => Promise<C>,
): ChannelSource<C> => {
  let current: C | undefined;
  let opening: Promise<C> | undefined;
  return {
    ready: () => {
      const live = connection.current();
      return live !== undefined && current !== undefined && current.isOpen() && current.generation === live.generation
        ? current
        : undefined;
    },
    get: async (deadline) => {
      const live = await connection.waitForLive(remaining(deadline));
      if (current !== undefined && current.isOpen() && current.generation === live.generation) return current;
      opening ??= open(live)
        .then((c) => (current = c))
        .finally(() => {
          opening = undefined;
        });
      return beforeDeadline(deadline, opening, () => 'opening a channel took too long');
    },
  };
};
