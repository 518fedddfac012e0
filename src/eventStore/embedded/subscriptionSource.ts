import { setImmediate } from 'node:timers/promises';
import type { RecordedEvent, SubscribeOptions } from '../eventStore.js';
import type { EventSource } from '../runSubscription.js';
import { isTransientError, isUnavailableError, type Guard } from './guard.js';
import { decodePosition, noBound, readPage, type Statements } from './schema.js';

const pageSize = 500;

/** Ascending, disjoint ranges of positions, `from` to `to` inclusive: added at the back, dropped from the front. */
interface PositionRanges {
  /** Adds a range above every range held; one that starts right after the last is merged into it. */
  add(from: number, to: number): void;
  /** Drops the ranges that start at or before `after + 1` and returns `after` moved past them. */
  skip(after: number): number;
  /** Where the first range held starts, or `undefined` when none is. */
  nextStart(): number | undefined;
}

const makePositionRanges = (): PositionRanges => {
  // from0, to0, from1, to1, …; the ranges before `head` are dropped.
  let bounds: number[] = [];
  let head = 0;
  return {
    add: (from, to) => {
      const last = bounds.length - 1;
      if (last > head && bounds[last] === from - 1) bounds[last] = to;
      else bounds.push(from, to);
    },
    skip: (after) => {
      let passed = after;
      while (head < bounds.length && (bounds[head] as number) <= passed + 1) {
        passed = Math.max(passed, bounds[head + 1] as number);
        head += 2;
      }
      if (head === bounds.length) {
        bounds = [];
        head = 0;
      } else if (head >= 1024 && head * 2 >= bounds.length) {
        bounds = bounds.slice(head);
        head = 0;
      }
      return passed;
    },
    nextStart: () => (head < bounds.length ? bounds[head] : undefined),
  };
};

/** A live subscription with `skipOwnAppends`: the store's own commits it has not passed yet. */
interface OwnAppendsSkipper {
  /** The position the subscription has read or skipped up to. */
  readonly passed: () => number;
  readonly own: PositionRanges;
}

/** The event sources of a store's subscriptions, and what they must learn of the store's own commits. */
export interface SubscriptionSource {
  /** The catch-up-then-live source of a subscription with `options`, whose `after` is a valid position. */
  readonly eventSource: (options: SubscribeOptions) => EventSource;
  /** Whether a live subscription skips this store's own appends: only then must it learn of their positions. */
  readonly skipsOwnAppends: () => boolean;
  /** This store has committed positions `from` to `to` (and nothing else took any between them). */
  readonly committed: (from: number, to: number) => void;
  /** This store has committed events: the subscriptions waiting for them read again at once. */
  readonly appended: () => void;
}

/** What {@link makeSubscriptionSource} reads with. */
export interface SubscriptionSourceDeps {
  readonly statements: Pick<Statements, 'selectAllUser' | 'selectAllPrefixed' | 'selectHead'>;
  readonly guard: Pick<Guard, 'isClosed' | 'unavailable'>;
  /** Whether the store is in memory, where no other connection writes: nothing to poll for. */
  readonly inMemory: boolean;
  /** How often a live subscription looks for other connections' appends. */
  readonly pollIntervalMs: number;
}

/**
 * The subscriptions' side of the store. A subscription sees other processes'
 * appends by polling, and its own process's appends at once, or not at all
 * with `skipOwnAppends`: it then jumps over this store's commits without
 * reading them.
 */
export const makeSubscriptionSource = ({ statements, guard, inMemory, pollIntervalMs }: SubscriptionSourceDeps): SubscriptionSource => {
  const waiters = new Set<() => void>();
  const waitForChange = (signal: AbortSignal, options: { readonly poll: boolean; readonly wakeOnOwnAppends: boolean }): Promise<void> =>
    new Promise((done) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = () => {
        waiters.delete(wake);
        signal.removeEventListener('abort', wake);
        if (timer !== undefined) clearTimeout(timer);
        done();
      };
      if (signal.aborted) return wake();
      if (options.wakeOnOwnAppends) waiters.add(wake);
      signal.addEventListener('abort', wake);
      if (options.poll) timer = setTimeout(wake, pollIntervalMs);
    });

  const skippers = new Set<OwnAppendsSkipper>();

  const eventSource = (options: SubscribeOptions): EventSource =>
    async function* (signal) {
      let after = decodePosition(options.after);
      // With skipOwnAppends, the group commit records each of this store's commits here as it succeeds; the
      // reads jump over them and read only the gaps between them, which hold the other connections' events.
      const skipper: OwnAppendsSkipper | undefined =
        options.skipOwnAppends === true ? { passed: () => after, own: makePositionRanges() } : undefined;
      if (skipper) skippers.add(skipper);
      try {
        while (!signal.aborted) {
          if (guard.isClosed()) throw guard.unavailable('subscribe');
          if (skipper) after = skipper.own.skip(after);
          const before = skipper?.own.nextStart() ?? noBound;
          let page: readonly RecordedEvent[];
          // The head, read before the page: every position up to it is final (positions are taken in order under the
          // write lock, and the highest is never given back), so a page that reads to it lets the subscription pass
          // it even when none of those events matched its prefix. Otherwise a subscription to a rare prefix (queue-,
          // schedule-) would read again, on every wake, every event appended since it last matched.
          let head = after;
          try {
            head = Math.min(statements.selectHead.get()?.position ?? after, before - 1);
            page = readPage(statements, after, Math.min(before, head + 1), pageSize, options.streamPrefix);
          } catch (e) {
            if (!isUnavailableError(e)) throw e;
            if (!isTransientError(e)) throw guard.unavailable('subscribe', e);
            await waitForChange(signal, { poll: true, wakeOnOwnAppends: !skipper });
            continue;
          }
          const passedHead = page.length < pageSize && head > after;
          if (page.length === 0 && before === noBound) {
            if (passedHead) {
              after = head;
              continue;
            }
            // Other processes' appends are seen only by polling; this process's appends wake the wait at once,
            // unless the subscription skips them (in memory, where no other process writes, it waits for stop).
            await waitForChange(signal, { poll: !inMemory, wakeOnOwnAppends: !skipper });
            continue;
          }
          for (const event of page) {
            if (signal.aborted) return;
            yield event;
            after = Number(event.position);
          }
          // Every position below an own commit was taken before it, under the write lock: the gap up to
          // `before` is final, and a page shorter than the limit has read it to its end.
          if (page.length < pageSize && before !== noBound) after = before - 1;
          else if (passedHead) after = Math.max(after, head);
          // Reads and synchronous handlers settle in microtasks only: let timers and I/O run between pages,
          // or a long catch-up would starve the process (broker heartbeats included).
          await setImmediate();
        }
      } finally {
        if (skipper) skippers.delete(skipper);
      }
    };

  return {
    eventSource,
    skipsOwnAppends: () => skippers.size > 0,
    committed: (from, to) => {
      for (const s of skippers) if (to > s.passed()) s.own.add(from, to);
    },
    appended: () => {
      for (const wake of [...waiters]) wake();
    },
  };
};
