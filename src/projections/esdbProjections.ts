import { setTimeout as sleep } from 'node:timers/promises';
import {
  END,
  excludeSystemEvents,
  NotFoundError,
  START,
  UnknownError,
  type AllStreamResolvedEvent,
  type EventStoreDBClient,
  type Position,
  type ResolvedEvent,
} from '@eventstore/db-client';
import type { JobView } from '../job/index.js';
import { infoOf, lastRevisionOf, parseStreamPosition, sourceStreamOf, sourceStreamsOf } from './esdbInstall.js';
import { jobIndexProjection, makeEsdbJobList } from './esdbList.js';
import { makeEsdbJobSearch } from './esdbJobSearch.js';
import type { ProjectionInfo } from './projectionEngine.js';
import { builtInProjectionFiles, ProjectionNames, readProjectionFiles } from './projectionFiles.js';
import { ProjectionNotInstalledError, toJobView, waitForState, type ProjectionChange, type ProjectionQueries } from './projectionQueries.js';

export {
  esdbProjectionFiles,
  installProjections,
  isPassingProjectionError,
  projectionHealth,
  ProjectionInstallError,
  requiredSystemProjections,
} from './esdbInstall.js';
export type { InstalledProjection, InstallProjectionsOptions, ProjectionHealth } from './esdbInstall.js';
export { IndexStreams, isCurrentEntry } from './esdbList.js';

export interface EsdbProjectionQueriesOptions {
  readonly client: EventStoreDBClient;
  /** The projection files installed (to know how each one's changes are published). Default: jobtrail's two. */
  readonly files?: readonly string[];
  /**
   * For a projection without `outputState()`, when its statistics do not
   * tell how far it got (a source other than one stream): how long after an
   * event of its source to read the state again (then twice, at 4× and 16×).
   * Default: 300 ms.
   */
  readonly settleMs?: number;
  /**
   * For a projection without `outputState()`: how long to keep re-reading
   * (with backoff) after an event of its source until the projection's
   * position shows it processed that event. Default: 30 s.
   */
  readonly catchUpMs?: number;
  /** Where subscription failures go. Default: `console.error`. */
  readonly onError?: (error: unknown) => void;
  /** Pause before the n-th resubscription in a row after a subscription failed or ended. Default: 100 ms × 2^n, at most 5 s. */
  readonly resubscribeBackoff?: (failures: number) => number;
}

/**
 * The state the server sent, as jobtrail reads it: `{}` (what the gRPC
 * `State` call answers for a partition the projection has not folded, and
 * for any state while the projection starts) is no state; so are `null` and
 * `''`. jobtrail's projections never produce `{}` as a real state (job-view's
 * `$init` is `{status:'none'}`, job-dashboard's shared state is never empty).
 * The server answers a bi-state projection's root partition with its shared
 * state and a partition with that partition's state; should a whole
 * `[partition, shared]` pair come back, the part asked for is taken.
 */
export const unwrapState = (info: Pick<ProjectionInfo, 'biState'> | undefined, state: unknown, partition?: string): unknown => {
  if (state === null || state === undefined || state === '') return undefined;
  if (typeof state === 'object' && !Array.isArray(state) && Object.keys(state).length === 0) return undefined;
  if (info?.biState === true && Array.isArray(state) && state.length === 2)
    return unwrapState(undefined, partition === undefined || partition === '' ? state[1] : state[0]);
  return state;
};

type Follower<E> = (e: E) => void;

/**
 * `ProjectionQueries` over EventStoreDB projections, with `@eventstore/db-client` 6:
 * - `getState`: `getProjectionState(name, {partition})`, `{}` read as no state (see {@link unwrapState});
 * - `listJobViews`: the index streams of `projections/esdb/job-index.js` (see `esdbList.ts`), bounded per call;
 * - `subscribe`: a projection with `outputState()` through its result
 *   stream; one without (job-view, job-dashboard) by following its source
 *   (`$ce-<category>`) and reading the state (of the event's partition, for a
 *   partitioned one) again until the projection's position shows it processed
 *   the event. Every subscription resubscribes, with backoff, from the last
 *   event it delivered after an error or an end (a restart, a network blip).
 */
export const makeEsdbProjectionQueries = async (options: EsdbProjectionQueriesOptions): Promise<ProjectionQueries> => {
  const { client } = options;
  const settleMs = options.settleMs ?? 300;
  const catchUpMs = options.catchUpMs ?? 30_000;
  const onError = options.onError ?? ((error: unknown) => console.error('EventStoreDB projection subscription failed:', error));
  const backoff = options.resubscribeBackoff ?? ((n: number) => Math.min(5_000, 100 * 2 ** Math.min(n, 6)));
  const files = await readProjectionFiles(options.files ?? builtInProjectionFiles);
  const infos = new Map(files.map((f) => [f.name, infoOf(f)] as const));
  const closers = new Set<() => Promise<void>>();

  const getState = async (name: string, partition?: string): Promise<unknown> => {
    try {
      return unwrapState(infos.get(name), await client.getProjectionState(name, partition !== undefined ? { partition } : {}), partition);
    } catch (error) {
      // 24.10 and KurrentDB answer NotFound; 23.10 an UnknownError naming NotFound.
      if (error instanceof NotFoundError || (error instanceof UnknownError && /NotFound/.test(error.message)))
        throw new ProjectionNotInstalledError(name, 'its state cannot be read', { cause: error });
      throw error;
    }
  };

  const readView = async (partition: string): Promise<JobView | undefined> =>
    toJobView(partition, await getState(ProjectionNames.jobView, partition));

  const listJobViews = makeEsdbJobList({
    client,
    readView,
    indexInstalled: async () => {
      try {
        return (await client.getProjectionStatus(jobIndexProjection)) !== undefined;
      } catch {
        return false;
      }
    },
  });
  const { searchJobs, countJobs } = makeEsdbJobSearch({
    client,
    readView,
    indexInstalled: async () => {
      try {
        return (await client.getProjectionStatus(jobIndexProjection)) !== undefined;
      } catch {
        return false;
      }
    },
  });

  /**
   * Follows a subscription, resubscribing after an error or an end from the
   * last event delivered, with backoff; `onResubscribed` runs after each
   * resubscription (to read again what may have changed in between).
   */
  const keepSubscribed = <E, P>(
    open: (from: P | undefined) => NodeJS.EventEmitter & { unsubscribe(): Promise<void> },
    positionOf: (e: E) => P | undefined,
    onEvent: Follower<E>,
    initial: () => Promise<P | undefined>,
    onResubscribed?: () => void,
  ): (() => void) => {
    let closed = false;
    let last: P | undefined;
    let failures = 0;
    let timer: NodeJS.Timeout | undefined;
    let current: (NodeJS.EventEmitter & { unsubscribe(): Promise<void> }) | undefined;
    const start = (again: boolean) => {
      if (closed) return;
      const sub = open(last);
      current = sub;
      let ended = false;
      const restart = (error?: Error) => {
        if (ended) return;
        ended = true;
        if (closed) return;
        if (error !== undefined) onError(error);
        void sub.unsubscribe().catch(() => undefined);
        failures += 1;
        timer = setTimeout(() => start(true), backoff(failures));
      };
      sub.on('confirmation', () => {
        failures = 0;
      });
      sub.on('data', (e: E) => {
        failures = 0;
        const at = positionOf(e);
        if (at !== undefined) last = at;
        try {
          onEvent(e);
        } catch (err) {
          onError(err);
        }
      });
      sub.on('error', (err: Error) => restart(err));
      sub.on('end', () => restart());
      sub.on('close', () => restart());
      if (again) onResubscribed?.();
    };
    // The first subscription starts at the end at once; where that was is read alongside, so that a resubscription
    // before the first event starts no later than it (repeating an event or two rather than missing any).
    start(false);
    void initial().then(
      (from) => {
        if (last === undefined) last = from;
      },
      (err: unknown) => onError(err),
    );
    const close = async () => {
      closed = true;
      closers.delete(close);
      if (timer !== undefined) clearTimeout(timer);
      await current?.unsubscribe();
    };
    closers.add(close);
    return () => void close().catch(onError);
  };

  const lastRevision = async (stream: string): Promise<bigint | 'none'> => (await lastRevisionOf(client, stream)) ?? 'none';

  const follow = (stream: string, resolveLinkTos: boolean, onEvent: Follower<ResolvedEvent>, onResubscribed?: () => void) =>
    keepSubscribed<ResolvedEvent, bigint | 'none'>(
      (from) => client.subscribeToStream(stream, { fromRevision: from === undefined ? END : from === 'none' ? START : from, resolveLinkTos }),
      (e) => e.link?.revision ?? e.event?.revision,
      onEvent,
      () => lastRevision(stream),
      onResubscribed,
    );

  const followAll = (onEvent: Follower<AllStreamResolvedEvent>, onResubscribed?: () => void) =>
    keepSubscribed<AllStreamResolvedEvent, Position>(
      (from) => client.subscribeToAll({ fromPosition: from ?? END, filter: excludeSystemEvents() }),
      (e) => e.event?.position,
      onEvent,
      async () => undefined,
      onResubscribed,
    );

  /**
   * `whenProcessed(revision)` resolves true once the projection's statistics
   * show it processed `revision` of `source`, false when they cannot tell
   * (another position format), time (`catchUpMs` from the call) runs out or
   * `isClosed()`. One poll (with backoff, restarted by a new call) answers
   * every call waiting, so a burst of events reads the statistics once per
   * round, not once per event.
   */
  const watchProcessed = (name: string, source: string, isClosed: () => boolean) => {
    const waiting: Array<{ revision: bigint; until: number; resolve: (ok: boolean) => void }> = [];
    let polling = false;
    let attempt = 0;
    const answer = (done: (w: (typeof waiting)[number]) => boolean | undefined) => {
      for (let i = waiting.length - 1; i >= 0; i--) {
        const w = waiting[i] as (typeof waiting)[number];
        const ok = done(w);
        if (ok === undefined) continue;
        waiting.splice(i, 1);
        w.resolve(ok);
      }
    };
    const poll = async () => {
      polling = true;
      try {
        while (waiting.length > 0) {
          if (isClosed()) {
            answer(() => false);
            return;
          }
          const details = await client.getProjectionStatus(name, { deadline: 5_000 }).catch(() => undefined);
          const at = details !== undefined ? parseStreamPosition(details.position) : undefined;
          const untellable = details !== undefined && details.position !== '' && (at === undefined || at.stream !== source);
          const now = Date.now();
          answer((w) => (untellable ? false : at !== undefined && at.revision >= w.revision ? true : now >= w.until ? false : undefined));
          if (waiting.length > 0) await sleep(Math.min(1_000, 25 * 2 ** Math.min(attempt++, 6)));
        }
      } finally {
        polling = false;
      }
    };
    return (revision: bigint): Promise<boolean> =>
      new Promise<boolean>((resolve) => {
        waiting.push({ revision, until: Date.now() + catchUpMs, resolve });
        attempt = 0;
        if (!polling) void poll().catch(onError);
      });
  };

  const subscribe = (name: string, onChange: (change: ProjectionChange) => void): (() => void) => {
    const info = infos.get(name);
    if (info === undefined) throw new Error(`unknown projection "${name}"; known: ${[...infos.keys()].join(', ')}`);
    const resultStream = info.resultStreamName ?? `$projections-${name}-result`;
    if (info.outputState && info.partitioning !== 'none') {
      const prefix = `$projections-${name}-`;
      return follow(resultStream, true, (e) => {
        const ev = e.event;
        if (ev === undefined) return;
        const partition =
          ev.streamId.startsWith(prefix) && ev.streamId.endsWith('-result') ? ev.streamId.slice(prefix.length, -'-result'.length) : ev.streamId;
        onChange({ partition, state: ev.type === 'Result' ? unwrapState(info, ev.data, partition) : undefined });
      });
    }
    if (info.outputState) {
      return follow(resultStream, false, (e) => {
        const ev = e.event;
        if (ev !== undefined) onChange({ state: ev.type === 'Result' ? unwrapState(info, ev.data) : undefined });
      });
    }
    // No result stream: read the state again when the source moves, until the projection has processed the event.
    let closed = false;
    const isClosed = () => closed;
    const timers = new Set<NodeJS.Timeout>();
    const later = (ms: number, f: () => void) => {
      const t = setTimeout(() => {
        timers.delete(t);
        f();
      }, ms);
      timers.add(t);
    };
    const sources = sourceStreamsOf(info);
    const single = sourceStreamOf(info);
    const whenProcessed = single !== undefined ? watchProcessed(name, single, isClosed) : undefined;

    if (info.partitioning === 'byStream' && !info.biState) {
      // job-view: the event's partition is its stream; read that partition's state once the projection got there.
      // (A bi-state one, job-dashboard, is followed by its shared state, below.)
      const readPartition = async (partition: string) => {
        const state = await getState(name, partition);
        if (!closed) onChange({ partition, state });
      };
      const stops = sources.map((s) =>
        follow(s, false, (e) => {
          const ev = e.event;
          if (ev === undefined) return;
          // Followed without resolving: the event is the `$>` link itself, in the source stream.
          const partition = ev.type === '$>' ? linkTarget(ev.data) : ev.streamId;
          const revision = ev.revision;
          if (partition === undefined) return;
          void (whenProcessed !== undefined ? whenProcessed(revision) : Promise.resolve(false))
            .then(async (ok) => {
              if (!ok && !closed) await sleep(settleMs);
              if (!closed) await readPartition(partition);
            })
            .catch(onError);
        }, undefined),
      );
      return () => {
        closed = true;
        for (const stop of stops) stop();
      };
    }

    let last: string | undefined;
    let reading = false;
    let again = false;
    let target: bigint | undefined;
    let catchingUp = false;
    const read = async () => {
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      try {
        do {
          again = false;
          const state = await getState(name);
          const text = JSON.stringify(state);
          if (!closed && text !== last) {
            last = text;
            onChange({ state });
          }
        } while (again && !closed);
      } catch (err) {
        onError(err);
      } finally {
        reading = false;
      }
    };
    const settle = () => {
      for (const ms of [settleMs, settleMs * 4, settleMs * 16]) later(ms, () => void read());
    };
    // Re-read until the projection's position reaches the newest source event seen (bounded by catchUpMs).
    const catchUp = async () => {
      if (catchingUp) return;
      catchingUp = true;
      try {
        while (!closed && target !== undefined && whenProcessed !== undefined) {
          const goal = target;
          const ok = await whenProcessed(goal);
          await read();
          if (!ok) {
            settle();
            break;
          }
          if (target === goal) break;
        }
      } finally {
        catchingUp = false;
      }
    };
    const nudge = (revision: bigint | undefined) => {
      void read();
      if (whenProcessed === undefined || revision === undefined) {
        settle();
        return;
      }
      if (target === undefined || revision > target) target = revision;
      void catchUp().catch(onError);
    };
    const stops = sources.map((s) =>
      follow(
        s,
        false,
        (e) => nudge(e.link?.revision ?? e.event?.revision),
        () => nudge(undefined),
      ),
    );
    if (info.source.type === 'all')
      stops.push(
        followAll(
          () => nudge(undefined),
          () => nudge(undefined),
        ),
      );
    void getState(name).then(
      (s) => {
        if (last === undefined) last = JSON.stringify(s);
      },
      onError,
    );
    return () => {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const stop of stops) stop();
    };
  };

  const queries: ProjectionQueries = {
    getState,
    listJobViews,
    searchJobs,
    countJobs,
    subscribe,
    waitFor: (name, until, waitOptions) => waitForState(queries, name, until, waitOptions),
    close: async () => {
      await Promise.all([...closers].map((c) => c()));
    },
  };
  return queries;
};

/** The stream a link (`$>`, data `<revision>@<stream>`) points into. */
const linkTarget = (data: unknown): string | undefined => {
  const text = typeof data === 'string' ? data : data instanceof Uint8Array ? Buffer.from(data).toString('utf8') : undefined;
  const at = text?.indexOf('@') ?? -1;
  return text !== undefined && at >= 0 ? text.slice(at + 1) : undefined;
};
