import { createHash } from 'node:crypto';
import vm from 'node:vm';
import { categoryOf, isSystemStream } from '../eventStore/streamNames.js';
import { projectionPrelude } from './projectionPrelude.js';
import { brandClass, ErrorCodes, JobtrailError } from '../errors/index.js';

/** An event as a projection receives it; a `RecordedEvent` of the event-store port is one. */
export interface ProjectionEvent {
  readonly streamId: string;
  /** 0-based revision in its stream: the handler's `event.sequenceNumber`. */
  readonly revision: number;
  readonly type: string;
  readonly id?: string;
  /** Parsed JSON when `isJson`; anything else is never passed to a handler. */
  readonly data: unknown;
  readonly metadata?: Readonly<Record<string, unknown>>;
  readonly isJson: boolean;
  /** Where the event sits in the global log; reported with faults. */
  readonly position?: string;
  /** The data and metadata as stored, JSON text, when the store gave them (`SubscribeOptions.asText`): used as they are. */
  readonly text?: { readonly data: string | undefined; readonly metadata: string };
}

/** What a projection reads, as its selector declares. */
export type ProjectionSource =
  | { readonly type: 'all' }
  | { readonly type: 'categories'; readonly categories: readonly string[] }
  | { readonly type: 'streams'; readonly streams: readonly string[] };

/** How a projection splits its state: not at all, per stream (`foreachStream`) or by `partitionBy`. */
export type Partitioning = 'none' | 'byStream' | 'byCustomKey';

/** A projection's definition, as its source declared it. */
export interface ProjectionInfo {
  readonly source: ProjectionSource;
  readonly partitioning: Partitioning;
  /** The event types with a handler, or `all` (a `$any` handler, or none by type). */
  readonly events: readonly string[] | 'all';
  /** `options({biState: true})` or a `$initShared` handler: handlers get `[partitionState, sharedState]`. */
  readonly biState: boolean;
  /** `outputState()` (or a transform): EventStoreDB writes result streams. */
  readonly outputState: boolean;
  readonly resultStreamName: string | null;
  readonly includeLinks: boolean;
  /** The source calls `emit`, `linkTo`, `linkStreamTo` or `copyTo`: EventStoreDB needs `emitEnabled`. */
  readonly emits: boolean;
}

/** A projection that threw (or ran out of time): what, where, and the error. */
export interface ProjectionFault {
  readonly projection: string;
  readonly stream?: string;
  readonly revision?: number;
  readonly eventType?: string;
  readonly position?: string;
  readonly error: { readonly name: string; readonly message: string; readonly stack?: string };
  /** One line for a person: `projection "job-view" faulted at job-7@2 (JobStarted): TypeError: …`. */
  readonly message: string;
}

/** The source of a projection does not define one: a syntax error, a bad option, no selector. */
export class ProjectionDefinitionError extends JobtrailError {
  static {
    brandClass(this, 'ProjectionDefinitionError');
  }
  constructor(
    readonly projection: string,
    readonly reason: { readonly name: string; readonly message: string; readonly stack?: string },
  ) {
    super(ErrorCodes.InvalidProjection, `projection "${projection}" does not load: ${reason.name}: ${reason.message}; fix its source file`);
    this.name = 'ProjectionDefinitionError';
  }
}

/** Where the engine reads the states of partitions it has not cached (JSON text; `undefined`: never stored). */
export interface PartitionStorage {
  load(partition: string): string | null | undefined;
  /** The shared state of a bi-state projection. */
  loadShared(): string | null | undefined;
}

/** The states changed since the last `takeChanges`, as JSON text (`null`: the state is null). */
export interface ProjectionChanges {
  readonly partitions: ReadonlyArray<readonly [partition: string, state: string | null]>;
  /** Present when the shared state of a bi-state projection changed. */
  readonly shared?: string | null;
}

export interface ProjectionRun {
  /** Events that reached a handler. */
  readonly handled: number;
  /** Set when a handler threw or the batch ran out of time; the batch's changes must then be dropped. */
  readonly fault?: ProjectionFault;
}

/** One projection file compiled into its own `node:vm` context. */
export interface ProjectionEngine {
  readonly name: string;
  /** SHA-256 of the source text: a changed file is rebuilt from the start. */
  readonly hash: string;
  readonly info: ProjectionInfo;
  /**
   * Whether EventStoreDB would deliver the event to this projection: not a
   * system stream (`$…`) or link, a JSON body, a stream the selector selects,
   * a type with a handler.
   */
  accepts(event: ProjectionEvent): boolean;
  /** Feeds accepted events in order, within one execution timeout; stops at the first fault. */
  run(events: readonly ProjectionEvent[], storage: PartitionStorage): ProjectionRun;
  takeChanges(): ProjectionChanges;
  /** Drops cached states: `all` after a discarded batch; else keeps the root and shared states. */
  forget(all: boolean): void;
}

export interface ProjectionEngineOptions {
  readonly name: string;
  readonly source: string;
  /** Shown in stack traces. Default: the name. */
  readonly filename?: string;
  /** Longest a batch of events may run in the projection. Default: 5000 ms (EventStoreDB's per-event default). */
  readonly executionTimeoutMs?: number;
  /** Longest the source may take to define the projection. Default: 5000 ms. */
  readonly compilationTimeoutMs?: number;
  /** Receives the projection's `log(…)` lines. Default: dropped. */
  readonly log?: (line: string) => void;
  /**
   * Receives the projection's `emit`/`linkTo` calls, as they are made. Without
   * it (jobtrail's runtime) they throw, as the embedded runtime does not write
   * streams; a test server that plays EventStoreDB passes one.
   */
  readonly emit?: (emitted: ProjectionEmit) => void;
}

/** An `emit(stream, eventType, body, metadata)` or `linkTo(stream, event, metadata)` call of a handler. */
export type ProjectionEmit =
  | { readonly kind: 'emit'; readonly stream: string; readonly eventType: string; readonly body: unknown; readonly metadata?: unknown }
  | { readonly kind: 'linkTo'; readonly stream: string; readonly target: string; readonly metadata?: unknown };

interface Driver {
  input: readonly ContextEvent[];
  current: number;
  seal(): string;
  run(): { handled: number; failedAt: number; error: { name: string; message: string; stack?: string } | null };
  takeChanges(): { partitions: Array<[string, string | null]>; shared: string | null | undefined };
  forget(all: boolean): void;
}

interface ContextEvent {
  readonly streamId: string;
  readonly sequenceNumber: number;
  readonly eventType: string;
  readonly eventId: string;
  readonly isJson: boolean;
  readonly bodyRaw: string;
  readonly metadataRaw: string;
  readonly category: string;
}

/** SHA-256 of a projection's source, hex. */
export const projectionHash = (source: string): string => createHash('sha256').update(source).digest('hex');

const emitCall = /\b(emit|linkTo|linkStreamTo|copyTo)\s*\(/;
const timedOut = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';

const errorInfo = (err: unknown): { name: string; message: string; stack?: string } => {
  if (typeof err === 'object' && err !== null) {
    const e = err as { name?: unknown; message?: unknown; stack?: unknown };
    return {
      name: typeof e.name === 'string' ? e.name : 'Error',
      message: typeof e.message === 'string' ? e.message : String(err),
      ...(typeof e.stack === 'string' ? { stack: e.stack } : {}),
    };
  }
  return { name: 'Error', message: String(err) };
};

/** Describes where a projection faulted, for reports and logs. */
export const describeFault = (
  projection: string,
  at: Pick<ProjectionEvent, 'streamId' | 'revision' | 'type' | 'position'> | undefined,
  error: { readonly name: string; readonly message: string; readonly stack?: string },
): ProjectionFault => ({
  projection,
  ...(at !== undefined
    ? {
        stream: at.streamId,
        revision: at.revision,
        eventType: at.type,
        ...(at.position !== undefined ? { position: at.position } : {}),
      }
    : {}),
  error: { name: error.name, message: error.message, ...(error.stack !== undefined ? { stack: error.stack } : {}) },
  message:
    at !== undefined
      ? `projection "${projection}" faulted at ${at.streamId}@${at.revision} (${at.type}): ${error.name}: ${error.message}`
      : `projection "${projection}" faulted: ${error.name}: ${error.message}`,
});

const toContextEvent = (e: ProjectionEvent): ContextEvent => ({
  streamId: e.streamId,
  sequenceNumber: e.revision,
  eventType: e.type,
  eventId: e.id ?? '',
  isJson: e.isJson,
  bodyRaw: e.text !== undefined ? (e.isJson ? (e.text.data ?? '') : '') : e.isJson && e.data !== undefined ? JSON.stringify(e.data) : '',
  metadataRaw: e.text !== undefined ? e.text.metadata : e.metadata !== undefined ? JSON.stringify(e.metadata) : '',
  category: categoryOf(e.streamId) ?? '',
});

/**
 * Compiles a projection file (EventStoreDB's projection language) into its own
 * `node:vm` context, with string code generation (`eval`, `new Function`) off
 * as in EventStoreDB. Throws `ProjectionDefinitionError` when the source does
 * not define a projection.
 */
export const makeProjectionEngine = (options: ProjectionEngineOptions): ProjectionEngine => {
  const { name, source } = options;
  const executionTimeoutMs = options.executionTimeoutMs ?? 5000;
  let storage: PartitionStorage | undefined;
  // A storage failure is the host's, not the projection's: it is carried past the driver's catch and thrown again.
  let hostError: { error: unknown } | undefined;
  const guard =
    <A extends unknown[], R>(f: (...args: A) => R) =>
    (...args: A): R => {
      try {
        return f(...args);
      } catch (error) {
        hostError = { error };
        throw error;
      }
    };
  // Read through a function: the bridge sets it while the driver runs, out of the compiler's sight.
  const failedHost = (): { error: unknown } | undefined => hostError;
  const bridge = {
    load: guard((partition: string) => storage?.load(partition)),
    loadShared: guard(() => storage?.loadShared()),
    log: (line: string) => options.log?.(line),
    emits: options.emit !== undefined,
    emit: (json: string) => options.emit?.(JSON.parse(json) as ProjectionEmit),
  };

  const context = vm.createContext({}, { name: `projection ${name}`, codeGeneration: { strings: false, wasm: false } });
  const prelude = vm.runInContext(projectionPrelude, context, { filename: 'jobtrail:projection-prelude.js' }) as (
    host: typeof bridge,
  ) => Driver;
  const driver = prelude(bridge);
  let info: ProjectionInfo;
  try {
    vm.runInContext(source, context, {
      filename: options.filename ?? name,
      timeout: options.compilationTimeoutMs ?? 5000,
    });
    const declared = JSON.parse(driver.seal()) as Omit<ProjectionInfo, 'emits'>;
    info = { ...declared, emits: emitCall.test(source) };
  } catch (err) {
    throw new ProjectionDefinitionError(name, errorInfo(err));
  }
  Object.defineProperty(vm.runInContext('globalThis', context), '__jobtrailDriver__', { value: driver });
  const runScript = new vm.Script('__jobtrailDriver__.run()', { filename: 'jobtrail:projection-run.js' });

  const handled = info.events === 'all' ? undefined : new Set(info.events);
  const selected = (stream: string): boolean => {
    const s = info.source;
    if (s.type === 'all') return true;
    if (s.type === 'streams') return s.streams.includes(stream);
    const category = categoryOf(stream);
    return category !== undefined && s.categories.includes(category);
  };

  return {
    name,
    hash: projectionHash(source),
    info,
    accepts: (e) =>
      e.isJson &&
      !isSystemStream(e.streamId) &&
      e.type !== '$>' &&
      selected(e.streamId) &&
      (handled === undefined || handled.has(e.type)),
    run: (events, from) => {
      if (events.length === 0) return { handled: 0 };
      storage = from;
      hostError = undefined;
      driver.input = events.map(toContextEvent);
      try {
        const r = runScript.runInContext(context, { timeout: executionTimeoutMs }) as ReturnType<Driver['run']>;
        const failed = failedHost();
        if (failed !== undefined) throw failed.error;
        if (r.error === null) return { handled: r.handled };
        return { handled: r.handled, fault: describeFault(name, events[r.failedAt], r.error) };
      } catch (err) {
        const failed = failedHost();
        if (failed !== undefined) throw failed.error;
        if (!timedOut(err)) throw err;
        const at = events[driver.current];
        driver.current = -1;
        return {
          handled: 0,
          fault: describeFault(name, at, {
            name: 'ProjectionTimeout',
            message: `handlers did not finish a batch of ${events.length} event(s) within ${executionTimeoutMs} ms`,
          }),
        };
      } finally {
        driver.input = [];
        storage = undefined;
      }
    },
    takeChanges: () => {
      const c = driver.takeChanges();
      return { partitions: c.partitions, ...(c.shared !== undefined ? { shared: c.shared } : {}) };
    },
    forget: (all) => driver.forget(all),
  };
};

/** A projection folded in memory: for tests, and to try a projection file on events without a store. */
export interface MemoryProjection {
  readonly engine: ProjectionEngine;
  /** Feeds the events EventStoreDB would deliver (others are skipped); returns the fault that stopped it, if any. */
  feed(events: Iterable<ProjectionEvent>): ProjectionFault | undefined;
  /** The state of a partition (default: the root partition), parsed; `undefined` when it has none. */
  state(partition?: string): unknown;
  /** A bi-state projection's shared state. */
  shared(): unknown;
  partitions(): string[];
  /** Events that reached a handler. */
  handled(): number;
}

/** Compiles a projection and keeps its states in memory. Throws `ProjectionDefinitionError` like `makeProjectionEngine`. */
export const makeMemoryProjection = (options: ProjectionEngineOptions): MemoryProjection => {
  const engine = makeProjectionEngine(options);
  const partitions = new Map<string, string | null>();
  let shared: string | null | undefined;
  let handled = 0;
  let fault: ProjectionFault | undefined;
  const storage: PartitionStorage = { load: (p) => partitions.get(p), loadShared: () => shared };
  const parse = (text: string | null | undefined): unknown => (text === undefined || text === null ? undefined : JSON.parse(text));
  return {
    engine,
    feed: (events) => {
      if (fault !== undefined) return fault;
      const batch = [...events].filter(engine.accepts);
      const r = engine.run(batch, storage);
      handled += r.handled;
      if (r.fault !== undefined) {
        engine.forget(true);
        fault = r.fault;
        return fault;
      }
      const changes = engine.takeChanges();
      for (const [p, s] of changes.partitions) partitions.set(p, s);
      if (changes.shared !== undefined) shared = changes.shared;
      engine.forget(false);
      return undefined;
    },
    state: (partition = '') => parse(partitions.get(partition)),
    shared: () => parse(shared),
    partitions: () => [...partitions.keys()],
    handled: () => handled,
  };
};
