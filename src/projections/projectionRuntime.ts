import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import * as E from 'fp-ts/lib/Either.js';
import type { EventStore, RecordedEvent, StoreUnavailable, Subscription } from '../eventStore/eventStore.js';
import { makeSqliteLease, type SqliteLease } from '../eventStore/embedded/sqliteLease.js';
import { makeEmbeddedProjectionQueries, type EmbeddedProjectionQueries } from './embeddedProjectionQueries.js';
import {
  describeFault,
  makeProjectionEngine,
  ProjectionDefinitionError,
  projectionHash,
  type PartitionStorage,
  type ProjectionEngine,
  type ProjectionFault,
  type ProjectionInfo,
} from './projectionEngine.js';
import { builtInProjectionFiles, ProjectionNames, readProjectionFiles, type ProjectionFile } from './projectionFiles.js';
import {
  makeProjectionTables,
  ProjectionStatuses,
  writeJobView,
  type ProjectionTables,
  type SqliteDatabase,
} from './projectionTables.js';

/** The store the runtime folds: the event-store port plus the SQLite connection it keeps its tables in. */
export type ProjectionStore = Pick<EventStore, 'subscribe' | 'readAll'> & { readonly database: SqliteDatabase };

/** Where the runtime reports (pino's logger fits). */
export interface ProjectionLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RunProjectionsOptions {
  /** The embedded store (`makeEmbeddedEventStore`); its file may be shared with other processes. */
  readonly store: ProjectionStore;
  /** Projection files; the name of each is its file name. Default: `projections/job-view.js` and `projections/job-dashboard.js`. */
  readonly files?: readonly string[];
  /** This process in the lease. Default: `host:pid:random`. */
  readonly holderId?: string;
  /** How long the lease lasts unless renewed (it is renewed every third of this). Default: 10 000 ms. */
  readonly leaseTtlMs?: number;
  /** Whether a lease holder is known to be dead (its lease is taken over at once). Default: never known. */
  readonly isHolderGone?: (holder: string) => boolean;
  /** How often a process without the lease tries to take it. Default: 1000 ms. */
  readonly leaseRetryMs?: number;
  /** Events per transaction, at most. Default: 500. */
  readonly batchSize?: number;
  /** How long a partial batch waits for more events before it commits. Default: 10 ms. */
  readonly flushDelayMs?: number;
  /** Longest one batch may run in a projection before it is faulted. Default: 5000 ms. */
  readonly executionTimeoutMs?: number;
  /** How often subscriptions look for batches committed by another process. Default: 250 ms. */
  readonly pollIntervalMs?: number;
  /** How long to wait before resubscribing after the store failed. Default: 1000 ms. */
  readonly retryDelayMs?: number;
  /** Called once per projection that faults (a handler threw, timed out, or its file does not load). */
  readonly onFault?: (fault: ProjectionFault) => void;
  /** Default: faults and takeovers go to `console.error` / `console.warn`. */
  readonly logger?: ProjectionLogger;
  /** The clock of the lease, ms since the epoch. Default: `Date.now`. */
  readonly now?: () => number;
}

/** Where a projection stands in this process. */
export interface ProjectionRunStatus {
  readonly name: string;
  /** `idle`: this process does not hold the lease; `stopped`: after `stop()`. */
  readonly status: 'idle' | 'running' | 'faulted' | 'stopped';
  /** Position of the last event committed, `undefined` before the first. */
  readonly checkpoint: string | undefined;
  /** Events that reached a handler, committed by this process since it started. */
  readonly handled: number;
  /** Events delivered (handled or skipped), committed by this process since it started. */
  readonly delivered: number;
  /** Transactions committed by this process since it started. */
  readonly batches: number;
  readonly fault?: ProjectionFault;
}

/** The running projections of this process. */
export interface ProjectionsHandle {
  readonly holderId: string;
  /** Reads the projections' states (any process may; only the lease holder writes them). */
  readonly queries: EmbeddedProjectionQueries;
  /** Whether this process holds the lease and advances the projections. */
  isLeader(): boolean;
  status(): ProjectionRunStatus[];
  /**
   * Resolves once this process holds the lease and every running projection
   * has committed every event the store held when called; rejects after
   * `timeoutMs` (default 10 000) naming the projections that lag.
   */
  caughtUp(options?: { readonly timeoutMs?: number }): Promise<void>;
  /** Stops subscriptions, commits what was delivered, gives the lease up. */
  stop(): Promise<void>;
}

/** The projections lease's name in the store's lease table. */
export const projectionsLeaseName = 'projections';

class LeaseLost extends Error {
  constructor() {
    super('the projections lease was taken over by another process');
    this.name = 'LeaseLost';
  }
}

class StoreFailure extends Error {
  constructor(readonly failure: StoreUnavailable) {
    super(failure.message);
    this.name = 'StoreFailure';
  }
}

interface Running {
  readonly file: ProjectionFile;
  readonly engine: ProjectionEngine | undefined;
  readonly definitionFault: ProjectionFault | undefined;
  status: ProjectionRunStatus['status'];
  subscription: Subscription | undefined;
  /** Bumped whenever the subscription is dropped: events of an older one are ignored. */
  generation: number;
  pending: RecordedEvent[];
  timer: NodeJS.Timeout | undefined;
  retry: NodeJS.Timeout | undefined;
  checkpoint: string | undefined;
  version: number;
  handled: number;
  delivered: number;
  batches: number;
  fault: ProjectionFault | undefined;
}

const consoleLogger: ProjectionLogger = {
  info: () => undefined,
  warn: (obj, msg) => console.warn(msg, obj),
  error: (obj, msg) => console.error(msg, obj),
};

const streamPrefixOf = (info: ProjectionInfo): string | undefined => {
  const s = info.source;
  if (s.type === 'categories' && s.categories.length === 1) return `${s.categories[0]}-`;
  if (s.type === 'streams' && s.streams.length === 1) return s.streams[0];
  return undefined;
};

/**
 * Runs projection files in-process against the embedded store,
 * with EventStoreDB's semantics (see `makeProjectionEngine`).
 *
 * Each projection subscribes to the store from its checkpoint, folds events
 * in batches and commits each batch (states, job-view columns, checkpoint) in
 * one transaction, so a restart resumes where it stopped. A projection whose
 * file changed (by hash) is rebuilt from the start. A projection that throws
 * is reported through `onFault`, marked faulted (it stays so until its file
 * changes) and stopped; the others go on.
 *
 * Processes sharing the SQLite file take turns under a lease: one advances
 * the projections, the others wait, take over when it stops or its lease
 * expires, and meanwhile read the states it keeps through `queries`.
 */
export const runProjections = async (options: RunProjectionsOptions): Promise<ProjectionsHandle> => {
  const { store } = options;
  const holderId = options.holderId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const leaseTtlMs = options.leaseTtlMs ?? 10_000;
  const leaseRetryMs = options.leaseRetryMs ?? 1000;
  const batchSize = Math.max(1, options.batchSize ?? 500);
  const flushDelayMs = options.flushDelayMs ?? 10;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const now = options.now ?? Date.now;
  const logger = options.logger ?? consoleLogger;
  const db = store.database;

  const files = await readProjectionFiles(options.files ?? builtInProjectionFiles);
  const tables: ProjectionTables = makeProjectionTables(db);
  const lease: SqliteLease = makeSqliteLease(db, {
    name: projectionsLeaseName,
    holder: holderId,
    ttlMs: leaseTtlMs,
    now,
    ...(options.isHolderGone !== undefined ? { isHolderGone: options.isHolderGone } : {}),
  });
  const queries: EmbeddedProjectionQueries = makeEmbeddedProjectionQueries({
    database: db,
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
  });

  const report = (fault: ProjectionFault) => {
    logger.error({ ...fault }, fault.message);
    try {
      options.onFault?.(fault);
    } catch (err) {
      logger.error({ projection: fault.projection, err }, 'the onFault callback threw');
    }
  };

  const projections: Running[] = files.map((file) => {
    let engine: ProjectionEngine | undefined;
    let definitionFault: ProjectionFault | undefined;
    try {
      engine = makeProjectionEngine({
        name: file.name,
        source: file.source,
        filename: file.path,
        ...(options.executionTimeoutMs !== undefined ? { executionTimeoutMs: options.executionTimeoutMs } : {}),
        log: (line) => logger.info({ projection: file.name }, line),
      });
    } catch (err) {
      if (!(err instanceof ProjectionDefinitionError)) throw err;
      definitionFault = describeFault(file.name, undefined, err.reason);
    }
    return {
      file,
      engine,
      definitionFault,
      status: 'idle',
      subscription: undefined,
      generation: 0,
      pending: [],
      timer: undefined,
      retry: undefined,
      checkpoint: undefined,
      version: 0,
      handled: 0,
      delivered: 0,
      batches: 0,
      fault: undefined,
    };
  });

  let leader = false;
  let stopped = false;
  let tick: NodeJS.Timeout | undefined;
  let renewal: NodeJS.Timeout | undefined;

  /** Runs `work` in one write transaction, after checking (and extending) the lease. */
  const underLease = <A>(work: () => A): A =>
    db.transaction(() => {
      const held = lease.tryAcquire();
      if (E.isLeft(held)) throw new StoreFailure(held.left);
      if (!held.right) throw new LeaseLost();
      return work();
    }).immediate();

  const storageOf = (p: Running, engine: ProjectionEngine): PartitionStorage => ({
    load: (partition) => {
      if (partition === '' && !engine.info.biState) return tables.projection.get(p.file.name)?.state ?? undefined;
      const row = tables.partition.get(p.file.name, partition);
      return row === undefined ? undefined : row.state;
    },
    loadShared: () => tables.projection.get(p.file.name)?.state ?? undefined,
  });

  const dropSubscription = (p: Running) => {
    p.generation += 1;
    if (p.timer !== undefined) clearTimeout(p.timer);
    p.timer = undefined;
    p.pending = [];
    p.engine?.forget(true);
    const sub = p.subscription;
    p.subscription = undefined;
    // Not awaited: this may run inside the subscription's own handler.
    if (sub !== undefined) void sub.stop();
  };

  const markFaulted = (p: Running, fault: ProjectionFault) => {
    dropSubscription(p);
    p.status = 'faulted';
    p.fault = fault;
    try {
      underLease(() => tables.setFault.run(JSON.stringify(fault), new Date(now()).toISOString(), p.file.name));
    } catch (err) {
      if (err instanceof LeaseLost) demote();
      else logger.error({ projection: p.file.name, err }, 'could not record the fault in the store');
    }
    report(fault);
  };

  const restart = (p: Running, why: unknown) => {
    if (p.status !== 'running') return;
    logger.warn({ projection: p.file.name, err: why }, `projection "${p.file.name}" resubscribes from its checkpoint in ${retryDelayMs} ms`);
    dropSubscription(p);
    if (p.retry !== undefined) clearTimeout(p.retry);
    p.retry = setTimeout(() => {
      p.retry = undefined;
      if (leader && !stopped && p.status === 'running') subscribe(p);
    }, retryDelayMs);
  };

  const flush = (p: Running) => {
    if (p.timer !== undefined) clearTimeout(p.timer);
    p.timer = undefined;
    const engine = p.engine;
    if (p.pending.length === 0 || p.status !== 'running' || engine === undefined) return;
    const batch = p.pending;
    p.pending = [];
    const last = batch[batch.length - 1] as RecordedEvent;
    let run;
    try {
      run = engine.run(batch.filter(engine.accepts), storageOf(p, engine));
    } catch (err) {
      restart(p, err);
      return;
    }
    if (run.fault !== undefined) {
      markFaulted(p, run.fault);
      return;
    }
    const changes = engine.takeChanges();
    const version = p.version + 1;
    const name = p.file.name;
    try {
      underLease(() => {
        for (const [partition, state] of changes.partitions) {
          if (partition === '' && !engine.info.biState) tables.setRootState.run(state, name);
          else tables.upsertPartition.run(name, partition, state, version);
          if (name === ProjectionNames.jobView) writeJobView(tables, partition, state);
        }
        if (changes.shared !== undefined) tables.setRootState.run(changes.shared, name);
        tables.advance.run(last.position, batch.length, new Date(now()).toISOString(), version, name);
      });
    } catch (err) {
      engine.forget(true);
      if (err instanceof LeaseLost) demote();
      else restart(p, err);
      return;
    }
    engine.forget(false);
    p.version = version;
    p.checkpoint = last.position;
    p.handled += run.handled;
    p.delivered += batch.length;
    p.batches += 1;
    queries.publish(name, version, changes, engine.info.biState);
  };

  const subscribe = (p: Running) => {
    const engine = p.engine;
    if (engine === undefined) return;
    const generation = p.generation;
    const prefix = streamPrefixOf(engine.info);
    p.subscription = store.subscribe(
      // The engine hands the sandbox the data and metadata as JSON text: the stored text, not decoded and encoded again.
      { ...(p.checkpoint !== undefined ? { after: p.checkpoint } : {}), ...(prefix !== undefined ? { streamPrefix: prefix } : {}), asText: true },
      {
        onEvent: (event) => {
          if (generation !== p.generation || p.status !== 'running' || !leader) return;
          p.pending.push(event);
          if (p.pending.length >= batchSize) flush(p);
          else if (p.timer === undefined) p.timer = setTimeout(() => flush(p), flushDelayMs);
        },
        onError: (error) => {
          if (generation === p.generation) restart(p, error);
        },
      },
    );
  };

  /** Takes each projection up as the new lease holder: rebuilds changed ones, skips faulted ones, subscribes. */
  const lead = () => {
    for (const p of projections) {
      const name = p.file.name;
      const engine = p.engine;
      const hash = projectionHash(p.file.source);
      const at = new Date(now()).toISOString();
      const row = tables.projection.get(name);
      if (engine === undefined) {
        const fault = p.definitionFault as ProjectionFault;
        const known = row !== undefined && row.source_hash === hash && row.status === ProjectionStatuses.faulted;
        underLease(() => {
          if (row === undefined) tables.insertProjection.run(name, hash, at);
          else if (row.source_hash !== hash) tables.resetProjection.run(hash, at, name);
          tables.setFault.run(JSON.stringify(fault), at, name);
        });
        p.status = 'faulted';
        p.fault = fault;
        if (!known) report(fault);
        continue;
      }
      underLease(() => {
        if (row === undefined) tables.insertProjection.run(name, hash, at);
        else if (row.source_hash !== hash) {
          logger.info({ projection: name }, `projection "${name}" changed: rebuilding it from the start`);
          tables.deletePartitions.run(name);
          if (name === ProjectionNames.jobView) tables.deleteJobViews.run();
          tables.resetProjection.run(hash, at, name);
        }
        tables.setInfo.run(JSON.stringify(engine.info), name);
      });
      const current = tables.projection.get(name);
      if (current === undefined) continue;
      if (current.status === ProjectionStatuses.faulted) {
        p.status = 'faulted';
        p.fault = current.fault !== null ? (JSON.parse(current.fault) as ProjectionFault) : undefined;
        logger.warn({ projection: name }, `projection "${name}" stays faulted until its file changes: ${p.fault?.message ?? ''}`);
        continue;
      }
      p.checkpoint = current.checkpoint ?? undefined;
      p.version = current.version;
      p.status = 'running';
      subscribe(p);
    }
  };

  const demote = (reason = 'lost the projections lease: another process advances the projections now') => {
    if (!leader) return;
    leader = false;
    logger.warn({ holderId }, reason);
    if (renewal !== undefined) clearInterval(renewal);
    renewal = undefined;
    for (const p of projections) {
      dropSubscription(p);
      if (p.retry !== undefined) clearTimeout(p.retry);
      p.retry = undefined;
      if (p.status === 'running') p.status = 'idle';
    }
    schedule(leaseRetryMs);
  };

  const renew = () => {
    try {
      underLease(() => undefined);
    } catch (err) {
      if (err instanceof LeaseLost) demote();
      else logger.warn({ err }, 'could not renew the projections lease; trying again');
    }
  };

  const attempt = () => {
    tick = undefined;
    if (stopped || leader) return;
    const held = lease.tryAcquire();
    if (E.isRight(held) && held.right) {
      leader = true;
      renewal = setInterval(renew, Math.max(10, Math.floor(leaseTtlMs / 3)));
      try {
        lead();
      } catch (err) {
        demote(err instanceof LeaseLost ? undefined : `could not start the projections (${String(err)}); trying again`);
      }
      return;
    }
    schedule(leaseRetryMs);
  };

  const schedule = (ms: number) => {
    if (stopped || tick !== undefined) return;
    tick = setTimeout(attempt, ms);
  };

  attempt();

  const currentHolder = (): string => {
    const h = lease.currentHolder();
    return E.isRight(h) ? (h.right?.holder ?? 'none') : 'unknown';
  };

  /** Whether the projection has committed every event the store holds for it. */
  const atHead = async (p: Running): Promise<boolean> => {
    const engine = p.engine;
    if (engine === undefined) return true;
    const prefix = streamPrefixOf(engine.info);
    const rest = await store.readAll({
      ...(p.checkpoint !== undefined ? { after: p.checkpoint } : {}),
      ...(prefix !== undefined ? { streamPrefix: prefix } : {}),
      maxCount: 1,
    })();
    return E.isRight(rest) && rest.right.length === 0 && p.pending.length === 0;
  };

  return {
    holderId,
    queries,
    isLeader: () => leader,
    status: () =>
      projections.map((p) => ({
        name: p.file.name,
        status: p.status,
        checkpoint: p.checkpoint,
        handled: p.handled,
        delivered: p.delivered,
        batches: p.batches,
        ...(p.fault !== undefined ? { fault: p.fault } : {}),
      })),
    caughtUp: async ({ timeoutMs = 10_000 } = {}) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const lagging: string[] = [];
        for (const p of projections) {
          if (leader && p.status !== 'running') continue;
          if (!leader || !(await atHead(p))) lagging.push(p.file.name);
        }
        if (lagging.length === 0) return;
        if (Date.now() > deadline)
          throw new Error(
            `projections ${lagging.join(', ')} did not catch up with the store within ${timeoutMs} ms` +
              (leader ? '' : `; this process (${holderId}) does not hold the projections lease (holder: ${currentHolder()})`),
          );
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (tick !== undefined) clearTimeout(tick);
      tick = undefined;
      if (renewal !== undefined) clearInterval(renewal);
      renewal = undefined;
      for (const p of projections) {
        if (p.retry !== undefined) clearTimeout(p.retry);
        p.retry = undefined;
        const sub = p.subscription;
        p.subscription = undefined;
        if (sub !== undefined) await sub.stop();
        if (leader) flush(p);
        if (p.status === 'running' || p.status === 'idle') p.status = 'stopped';
      }
      if (leader) lease.release();
      leader = false;
      await queries.close();
    },
  };
};
