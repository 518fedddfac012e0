import { setImmediate } from 'node:timers/promises';
import type { CheckedEvent } from '../checkAppendInput.js';
import type { RecordedEvent, SubscribeOptions } from '../eventStore.js';
import type { EventSource } from '../runSubscription.js';
import type { Inserted } from './appendCheck.js';
import { isTransientError, isUnavailableError, type Guard } from './guard.js';
import { decodePosition, noBound, readPage, type Statements } from './schema.js';

const pageSize = 500;
/** Most events of this store's own commits a subscription holds to yield without reading them back; beyond, it reads them. */
const maxHeldEvents = 10_000;

/** One append this store committed: what a subscription needs to yield its events as a read would give them. */
export interface OwnCommit {
  readonly stream: string;
  readonly firstRevision: number;
  readonly events: readonly CheckedEvent[];
  readonly inserted: Inserted;
}

/**
 * Event `i` of `commit` as `toRecordedEvent` reads it back (the same fields, the same values, its own copies);
 * a JSON event's data and metadata are left empty for a type outside `dataFor` (`SubscribeOptions.dataFor`), and
 * with `asText` they are given as the stored text instead (`SubscribeOptions.asText`).
 */
const ownEvent = (commit: OwnCommit, i: number, dataFor: ReadonlySet<string> | undefined, asText: boolean): RecordedEvent => {
  const e = commit.events[i] as CheckedEvent;
  const metadata = commit.inserted.metadata[i] ?? null;
  const decode = !asText && (dataFor === undefined || dataFor.has(e.type));
  const event: RecordedEvent = {
    streamId: commit.stream,
    revision: commit.firstRevision + i,
    position: String(commit.inserted.from + i),
    id: e.id,
    type: e.type,
    data: !e.isJson ? new Uint8Array(e.bytes as Uint8Array) : decode ? JSON.parse(e.json as string) : {},
    metadata: decode && metadata !== null ? JSON.parse(metadata) : {},
    isJson: e.isJson,
    created: new Date(commit.inserted.created).toISOString(),
  };
  return asText ? { ...event, text: { data: e.isJson ? (e.json as string) : undefined, metadata: metadata ?? '{}' } } : event;
};

/** Whether a subscription to `prefix` reads `stream` (as `readPage` selects: no prefix means every stream not starting with `$`). */
const matchesPrefix = (prefix: string | undefined, stream: string): boolean =>
  prefix === undefined || prefix === '' ? !stream.startsWith('$') : stream.startsWith(prefix);

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

/**
 * A live subscription without `skipOwnAppends`: the store's own commits it
 * has not passed yet, in position order, to yield from memory (`commit`
 * undefined: none of its events matches the subscription's prefix).
 */
interface OwnAppendsFollower {
  readonly passed: () => number;
  readonly matches: (stream: string) => boolean;
  commits: { readonly from: number; readonly to: number; readonly commit: OwnCommit | undefined }[];
  next: number;
  held: number;
}

/** The event sources of a store's subscriptions, and what they must learn of the store's own commits. */
export interface SubscriptionSource {
  /** The catch-up-then-live source of a subscription with `options`, whose `after` is a valid position. */
  readonly eventSource: (options: SubscribeOptions) => EventSource;
  /** Whether a live subscription skips or follows this store's own appends: only then must it learn of them. */
  readonly skipsOwnAppends: () => boolean;
  /** This store has committed positions `from` to `to` (and nothing else took any between them), `commit`'s events. */
  readonly committed: (from: number, to: number, commit: OwnCommit) => void;
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
  const followers = new Set<OwnAppendsFollower>();

  const eventSource = (options: SubscribeOptions): EventSource =>
    async function* (signal) {
      let after = decodePosition(options.after);
      // With skipOwnAppends, the group commit records each of this store's commits here as it succeeds; the
      // reads jump over them and read only the gaps between them, which hold the other connections' events.
      const skipper: OwnAppendsSkipper | undefined =
        options.skipOwnAppends === true ? { passed: () => after, own: makePositionRanges() } : undefined;
      // Without it, the group commit hands each of this store's commits here as it succeeds (up to
      // `maxHeldEvents` held): they are yielded from memory, and the reads cover only the gaps between them.
      const prefix = options.streamPrefix;
      const dataFor = options.dataFor === undefined ? undefined : new Set(options.dataFor);
      const asText = options.asText === true;
      const follower: OwnAppendsFollower | undefined = skipper
        ? undefined
        : { passed: () => after, matches: (stream) => matchesPrefix(prefix, stream), commits: [], next: 0, held: 0 };
      if (skipper) skippers.add(skipper);
      if (follower) followers.add(follower);
      try {
        while (!signal.aborted) {
          if (guard.isClosed()) throw guard.unavailable('subscribe');
          if (skipper) after = skipper.own.skip(after);
          if (follower) {
            // The own commits whose gap before them has been read: yield them, in order.
            for (let c = follower.commits[follower.next]; c !== undefined && c.from <= after + 1; c = follower.commits[follower.next]) {
              follower.next += 1;
              if (c.commit !== undefined) {
                follower.held -= c.commit.events.length;
                for (let i = 0; i < c.commit.events.length; i += 1) {
                  if (c.from + i <= after) continue;
                  if (signal.aborted) return;
                  yield ownEvent(c.commit, i, dataFor, asText);
                }
              }
              after = Math.max(after, c.to);
            }
            if (follower.next === follower.commits.length) {
              follower.commits = [];
              follower.next = 0;
            } else if (follower.next >= 1024 && follower.next * 2 >= follower.commits.length) {
              follower.commits = follower.commits.slice(follower.next);
              follower.next = 0;
            }
          }
          const before = skipper?.own.nextStart() ?? follower?.commits[follower.next]?.from ?? noBound;
          let page: readonly RecordedEvent[];
          // The head, read before the page: every position up to it is final (positions are taken in order under the
          // write lock, and the highest is never given back), so a page that reads to it lets the subscription pass
          // it even when none of those events matched its prefix. Otherwise a subscription to a rare prefix (queue-,
          // schedule-) would read again, on every wake, every event appended since it last matched.
          let head = after;
          try {
            // Nothing can lie between `after` and an own commit right after it: no read.
            head = before === after + 1 ? after : Math.min(statements.selectHead.get()?.position ?? after, before - 1);
            page = head > after ? readPage(statements, after, Math.min(before, head + 1), pageSize, options.streamPrefix, asText) : [];
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
        if (follower) followers.delete(follower);
      }
    };

  return {
    eventSource,
    skipsOwnAppends: () => skippers.size > 0 || followers.size > 0,
    committed: (from, to, commit) => {
      for (const s of skippers) if (to > s.passed()) s.own.add(from, to);
      for (const f of followers) {
        if (to <= f.passed() || f.held >= maxHeldEvents) continue;
        const matching = f.matches(commit.stream);
        f.commits.push({ from, to, commit: matching ? commit : undefined });
        if (matching) f.held += commit.events.length;
      }
    },
    appended: () => {
      for (const wake of [...waiters]) wake();
    },
  };
};
