// The fake EventStoreDB's Projections gRPC service (event_store.client.projections.Projections),
// served with the client's own generated definitions over the FakeLog. It is
// NOT EventStoreDB's projection subsystem: the projection files run in
// jobtrail's in-process engine (makeProjectionEngine), fed from the `$ce-<category>`
// links in the log, as the server feeds `fromCategory` (so nothing folds while
// `$by_category` is disabled). What it models, read from the server at v24.10.4
// (src/EventStore.Projections.Core/Services/Grpc/ProjectionManagement.*.cs,
// Services/Management/ManagedProjection.cs, ProjectionManager.cs):
// - State/Result: an empty state (a partition never folded, or any state while
//   the projection is starting) is an empty Struct; JSON otherwise. A bi-state
//   projection answers its shared state for the root partition. NotFound
//   "Projection '<name>' not found" for an unknown projection.
// - Statistics: status `Running`, `Stopped`, `Faulted (Enabled)`, `Preparing`; the
//   fault's reason in stateReason; position `$ce-<category>: <revision>`.
// - Create of an existing name and Delete of a running or system projection
//   answer the OperationFailed reply the gRPC layer does not expect: Unknown.
// - A handler that throws faults the projection (it stops where it was);
//   emit/linkTo without emitEnabled fault it too.
// - Before the subsystem has started (`setReady(false)`), calls get no answer
//   at all: the client's deadline ends them (ProjectionManager returns early
//   until `_projectionsStarted`).
// - outputState() writes a `Result` event to `$projections-<name>-<partition>-result`
//   and a link to it in `$projections-<name>-result` per state change
//   (ResultEventEmitter); linkTo/emit write into the log. So records per job can be counted.
// - The system projections $by_category and $stream_by_category are listed;
//   enabling or disabling them switches the FakeLog's. Unlike the server, an
//   enabled $by_category does not go back over events written while it was off.
// Not modelled: checkpoints and their streams, `$partition` records, transient
// and one-time projections, selectors other than one category.
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import type * as Grpc from '@grpc/grpc-js';
import type * as ProjectionsGrpcPb from '@eventstore/db-client/generated/projections_grpc_pb.js';
import type * as ProjectionsPb from '@eventstore/db-client/generated/projections_pb.js';
import type * as StructPb from 'google-protobuf/google/protobuf/struct_pb.js';
import {
  makeProjectionEngine,
  type ProjectionEmit,
  type ProjectionEngine,
  type ProjectionEvent,
} from '../../../src/projections/projectionEngine.js';
import type { FakeLog, Stored } from './log.js';

// The client's own copies, so that its classes and ours are the same.
const fromClient = createRequire(createRequire(import.meta.url).resolve('@eventstore/db-client'));
const grpc = fromClient('@grpc/grpc-js') as typeof Grpc;
const pb = fromClient('../generated/projections_pb') as typeof ProjectionsPb;
const structPb = fromClient('google-protobuf/google/protobuf/struct_pb.js') as typeof StructPb;
const { ProjectionsService } = fromClient('../generated/projections_grpc_pb') as typeof ProjectionsGrpcPb;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
const empty = new Uint8Array(0);

export interface FakeProjectionsOptions {
  /** Whether the projection subsystem has started. Default: true. */
  readonly ready?: boolean;
  /** How long a projection reports Preparing (and empty states) after it is created, updated, reset or enabled. Default: 0. */
  readonly startingMs?: number;
  /** How long after an event of its source a projection processes it. Default: 0 (at once, asynchronously). */
  readonly lagMs?: number;
}

/** A projection as the fake holds it, for assertions. */
export interface FakeProjectionView {
  readonly name: string;
  readonly status: string;
  readonly emitEnabled: boolean;
  readonly position: number;
  readonly faultReason?: string;
}

/** Knobs on the fake's projection subsystem. */
export interface FakeProjections {
  /** false: every call hangs until the client's deadline, as before the subsystem starts. */
  setReady(ready: boolean): void;
  /** Becomes ready after `ms`. */
  readyAfter(ms: number): void;
  /** Every projection reports Preparing, with empty states, for `ms` from now (and after each create, update, reset, enable). */
  startingFor(ms: number): void;
  /** Projections process each event `ms` after it is written. */
  lagBy(ms: number): void;
  /** The projections, for assertions. */
  list(): FakeProjectionView[];
  /** Resolves once every user projection processed every `$ce-` link written so far (or stopped). */
  idle(timeoutMs?: number): Promise<void>;
  close(): void;
}

type Status = 'Running' | 'Stopped' | 'Faulted';

interface Projection {
  readonly name: string;
  query: string;
  emitEnabled: boolean;
  enabled: boolean;
  status: Status;
  faultReason: string;
  startingUntil: number;
  engine: ProjectionEngine | undefined;
  category: string | undefined;
  partitions: Map<string, string | null>;
  shared: string | null | undefined;
  /** The last `$ce-<category>` revision processed; -1 before the first. */
  position: number;
  epoch: number;
  version: number;
  scheduled: NodeJS.Timeout | undefined;
}

const systemNames = ['$by_category', '$stream_by_category'] as const;

/** Adds the Projections service to `server`, over `log`. */
export const addProjectionsService = (server: Grpc.Server, log: FakeLog, options: FakeProjectionsOptions = {}): FakeProjections => {
  let ready = options.ready ?? true;
  let readyTimer: NodeJS.Timeout | undefined;
  let startingMs = options.startingMs ?? 0;
  let lagMs = options.lagMs ?? 0;
  const projections = new Map<string, Projection>();
  let closed = false;

  const rpcError = (code: Grpc.status, details: string): Grpc.ServiceError =>
    Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata: new grpc.Metadata() });
  const notFound = (name: string) => rpcError(grpc.status.NOT_FOUND, `Projection '${name}' not found`);
  const unexpected = (expected: string, got: string) =>
    rpcError(grpc.status.UNKNOWN, `Envelope callback expected ${expected}, received ${got} instead`);

  const isStarting = (p: Projection) => Date.now() < p.startingUntil;
  const statusText = (p: Projection): string =>
    p.status === 'Running' && isStarting(p) ? 'Preparing' : p.status === 'Faulted' && p.enabled ? 'Faulted (Enabled)' : p.status;

  const fault = (p: Projection, reason: string) => {
    p.status = 'Faulted';
    p.faultReason = reason;
  };

  const compile = (p: Projection) => {
    p.engine = undefined;
    p.category = undefined;
    try {
      p.engine = makeProjectionEngine({ name: p.name, source: p.query, emit: (e) => pendingEmits.push(e) });
    } catch (error) {
      fault(p, (error as { reason?: { message?: string } }).reason?.message ?? String(error));
      return;
    }
    const source = p.engine.info.source;
    if (source.type !== 'categories' || source.categories.length !== 1) fault(p, 'the fake serves fromCategory(<one category>) only');
    else p.category = source.categories[0];
  };

  let pendingEmits: ProjectionEmit[] = [];

  const link = (stream: string, target: string, metadata?: unknown) =>
    log.append(
      stream,
      [
        {
          id: randomUUID(),
          type: '$>',
          contentType: 'application/octet-stream',
          data: utf8.encode(target),
          customMetadata: metadata !== undefined ? utf8.encode(JSON.stringify(metadata)) : empty,
        },
      ],
      { kind: 'any' },
    );
  const appendJson = (stream: string, type: string, body: unknown) => {
    const r = log.append(
      stream,
      [{ id: randomUUID(), type, contentType: 'application/json', data: utf8.encode(JSON.stringify(body ?? {})), customMetadata: empty }],
      { kind: 'any' },
    );
    return r.ok ? r.last : undefined;
  };

  const toProjectionEvent = (e: Stored): ProjectionEvent => {
    const isJson = e.contentType === 'application/json';
    let data: unknown;
    let metadata: Record<string, unknown> | undefined;
    try {
      data = isJson ? (JSON.parse(fromUtf8.decode(e.data)) as unknown) : undefined;
    } catch {
      data = undefined;
    }
    try {
      metadata = e.customMetadata.length > 0 ? (JSON.parse(fromUtf8.decode(e.customMetadata)) as Record<string, unknown>) : undefined;
    } catch {
      metadata = undefined;
    }
    return {
      streamId: e.stream,
      revision: e.revision,
      type: e.type,
      id: e.id,
      data,
      isJson: isJson && data !== undefined,
      ...(metadata !== undefined ? { metadata } : {}),
      position: `${e.commit}/${e.prepare}`,
    };
  };

  const writeResults = (p: Projection, changed: ReadonlyArray<readonly [string, string | null]>, shared: string | null | undefined) => {
    const info = p.engine?.info;
    if (info === undefined || !info.outputState) return;
    const resultStream = info.resultStreamName ?? `$projections-${p.name}-result`;
    if (info.partitioning === 'none') {
      const state = info.biState ? shared : changed.find(([k]) => k === '')?.[1];
      if (state !== undefined && state !== null) appendJson(resultStream, 'Result', JSON.parse(state));
      return;
    }
    for (const [partition, state] of changed) {
      if (partition === '' || state === null) continue;
      const written = appendJson(`$projections-${p.name}-${partition}-result`, 'Result', JSON.parse(state));
      if (written !== undefined) link(resultStream, `${written.revision}@${written.stream}`);
    }
  };

  const pump = (p: Projection) => {
    p.scheduled = undefined;
    if (closed || p.status !== 'Running' || p.engine === undefined || p.category === undefined) return;
    const source = log.read(`$ce-${p.category}`);
    if (!Array.isArray(source)) return;
    const links = (source as readonly Stored[]).filter((l) => l.revision > p.position);
    if (links.length === 0) return;
    const engine = p.engine;
    const storage = { load: (k: string) => p.partitions.get(k), loadShared: () => p.shared };
    for (const l of links) {
      const target = log.resolve(l);
      const event = target !== undefined ? toProjectionEvent(target) : undefined;
      if (event !== undefined && engine.accepts(event)) {
        pendingEmits = [];
        const r = engine.run([event], storage);
        if (r.fault !== undefined) {
          engine.forget(true);
          pendingEmits = [];
          fault(p, `${r.fault.error.name}: ${r.fault.error.message}`);
          return;
        }
        const emits = pendingEmits;
        pendingEmits = [];
        if (emits.length > 0 && !p.emitEnabled) {
          engine.forget(true);
          fault(p, "'emit' is not enabled for this projection: create it with emitEnabled");
          return;
        }
        const changes = engine.takeChanges();
        for (const [k, s] of changes.partitions) p.partitions.set(k, s);
        if (changes.shared !== undefined) p.shared = changes.shared;
        engine.forget(false);
        for (const e of emits) {
          if (e.kind === 'linkTo') link(e.stream, e.target, e.metadata);
          else appendJson(e.stream, e.eventType, e.body);
        }
        writeResults(p, changes.partitions, changes.shared);
      }
      p.position = l.revision;
    }
  };

  const schedule = (p: Projection) => {
    if (p.scheduled !== undefined || closed) return;
    p.scheduled = setTimeout(() => pump(p), lagMs);
  };

  const unlisten = log.onAppend((e) => {
    if (!e.stream.startsWith('$ce-')) return;
    const category = e.stream.slice('$ce-'.length);
    for (const p of projections.values()) if (p.category === category && p.status === 'Running') schedule(p);
  });

  const start = (p: Projection) => {
    p.status = 'Running';
    p.faultReason = '';
    p.startingUntil = Date.now() + startingMs;
    compile(p);
    if (p.status === 'Running') schedule(p);
  };

  const emptyState = (p: Projection) => {
    p.partitions = new Map();
    p.shared = undefined;
    p.position = -1;
  };

  // Every handler: no answer at all until the subsystem is ready.
  const whenReady =
    <Req, Resp>(f: (request: Req) => Resp | Promise<Resp>) =>
    (call: { request: Req }, callback: Grpc.sendUnaryData<Resp>) => {
      if (!ready) return;
      Promise.resolve()
        .then(() => f(call.request))
        .then(
          (resp) => callback(null, resp),
          (error: Grpc.ServiceError) => callback(error),
        );
    };

  const systemStatus = (name: string): string => (log.systemProjectionEnabled(name) ? 'Running' : 'Stopped');

  const details = (name: string): ProjectionsPb.StatisticsResp.Details => {
    const d = new pb.StatisticsResp.Details();
    d.setName(name);
    d.setEffectivename(name);
    d.setMode('Continuous');
    const p = projections.get(name);
    if (p === undefined) {
      d.setStatus(systemStatus(name));
      d.setEpoch('-1');
      d.setVersion('-1');
      return d;
    }
    d.setStatus(statusText(p));
    d.setStatereason(p.status === 'Faulted' ? p.faultReason : '');
    d.setPosition(p.position >= 0 && p.category !== undefined ? `$ce-${p.category}: ${p.position}` : '');
    d.setProgress(p.status === 'Running' ? 100 : 0);
    d.setEpoch(String(p.epoch));
    d.setVersion(String(p.version));
    d.setCoreprocessingtime('0');
    d.setEventsprocessedafterrestart(String(p.position + 1));
    d.setBufferedevents('0');
    d.setCheckpointstatus('');
    d.setLastcheckpoint('');
    return d;
  };

  const known = (name: string) => projections.has(name) || (systemNames as readonly string[]).includes(name);

  const stateValue = (text: string | null | undefined): StructPb.Value => {
    if (text === undefined || text === null || text === '') {
      const v = new structPb.Value();
      v.setStructValue(new structPb.Struct());
      return v;
    }
    return structPb.Value.fromJavaScript(JSON.parse(text) as StructPb.JavaScriptValue);
  };

  // ManagedProjection.Handle(GetState): "" before the projection is Running.
  const stateOf = (name: string, partition: string): string | null | undefined => {
    const p = projections.get(name);
    return p === undefined || isStarting(p) ? undefined : read(p, partition);
  };
  const read = (p: Projection, partition: string) =>
    partition === '' && p.engine?.info.biState === true ? p.shared : p.partitions.get(partition);

  const service = {
    create: whenReady((req: ProjectionsPb.CreateReq) => {
      const o = req.getOptions();
      const c = o?.getContinuous();
      if (o === undefined || c === undefined) throw rpcError(grpc.status.INVALID_ARGUMENT, 'the fake creates continuous projections only');
      const name = c.getName();
      if (known(name)) throw unexpected('Updated', 'OperationFailed');
      const p: Projection = {
        name,
        query: o.getQuery(),
        emitEnabled: c.getEmitEnabled(),
        enabled: true,
        status: 'Stopped',
        faultReason: '',
        startingUntil: 0,
        engine: undefined,
        category: undefined,
        partitions: new Map(),
        shared: undefined,
        position: -1,
        epoch: 0,
        version: 0,
        scheduled: undefined,
      };
      projections.set(name, p);
      start(p);
      return new pb.CreateResp();
    }),
    update: whenReady((req: ProjectionsPb.UpdateReq) => {
      const o = req.getOptions();
      const name = o?.getName() ?? '';
      const p = projections.get(name);
      if (p === undefined || o === undefined) throw notFound(name);
      p.query = o.getQuery();
      if (o.hasEmitEnabled()) p.emitEnabled = o.getEmitEnabled();
      p.version += 1;
      if (p.enabled) start(p);
      else compile(p);
      return new pb.UpdateResp();
    }),
    delete: whenReady((req: ProjectionsPb.DeleteReq) => {
      const name = req.getOptions()?.getName() ?? '';
      if ((systemNames as readonly string[]).includes(name)) throw unexpected('Updated', 'OperationFailed');
      const p = projections.get(name);
      if (p === undefined) throw notFound(name);
      if (p.status === 'Running') throw unexpected('Updated', 'OperationFailed');
      if (p.scheduled !== undefined) clearTimeout(p.scheduled);
      projections.delete(name);
      return new pb.DeleteResp();
    }),
    statistics: (call: Grpc.ServerWritableStream<ProjectionsPb.StatisticsReq, ProjectionsPb.StatisticsResp>) => {
      if (!ready) return;
      const name = call.request.getOptions()?.getName() ?? '';
      if (name !== '') {
        if (!known(name)) {
          call.emit('error', notFound(name));
          return;
        }
        call.write(new pb.StatisticsResp().setDetails(details(name)));
        call.end();
        return;
      }
      for (const n of [...systemNames, ...projections.keys()]) call.write(new pb.StatisticsResp().setDetails(details(n)));
      call.end();
    },
    disable: whenReady((req: ProjectionsPb.DisableReq) => {
      const name = req.getOptions()?.getName() ?? '';
      if ((systemNames as readonly string[]).includes(name)) {
        log.setSystemProjection(name as (typeof systemNames)[number], false);
        return new pb.DisableResp();
      }
      const p = projections.get(name);
      if (p === undefined) throw notFound(name);
      p.enabled = false;
      if (p.status === 'Running') p.status = 'Stopped';
      return new pb.DisableResp();
    }),
    enable: whenReady((req: ProjectionsPb.EnableReq) => {
      const name = req.getOptions()?.getName() ?? '';
      if ((systemNames as readonly string[]).includes(name)) {
        log.setSystemProjection(name as (typeof systemNames)[number], true);
        return new pb.EnableResp();
      }
      const p = projections.get(name);
      if (p === undefined) throw notFound(name);
      p.enabled = true;
      if (p.status !== 'Running') start(p);
      return new pb.EnableResp();
    }),
    reset: whenReady((req: ProjectionsPb.ResetReq) => {
      const name = req.getOptions()?.getName() ?? '';
      const p = projections.get(name);
      if (p === undefined) throw notFound(name);
      emptyState(p);
      p.epoch += 1;
      p.version += 1;
      if (p.enabled) start(p);
      return new pb.ResetResp();
    }),
    state: whenReady((req: ProjectionsPb.StateReq) => {
      const name = req.getOptions()?.getName() ?? '';
      if (!projections.has(name)) throw notFound(name);
      return new pb.StateResp().setState(stateValue(stateOf(name, req.getOptions()?.getPartition() ?? '')));
    }),
    result: whenReady((req: ProjectionsPb.ResultReq) => {
      const name = req.getOptions()?.getName() ?? '';
      if (!projections.has(name)) throw notFound(name);
      return new pb.ResultResp().setResult(stateValue(stateOf(name, req.getOptions()?.getPartition() ?? '')));
    }),
    restartSubsystem: whenReady(() => new (fromClient('../generated/shared_pb') as { Empty: new () => unknown }).Empty()),
  };
  server.addService(ProjectionsService, service as unknown as Grpc.UntypedServiceImplementation);

  return {
    setReady: (r) => {
      ready = r;
    },
    readyAfter: (ms) => {
      ready = false;
      if (readyTimer !== undefined) clearTimeout(readyTimer);
      readyTimer = setTimeout(() => {
        ready = true;
      }, ms);
    },
    startingFor: (ms) => {
      startingMs = ms;
      for (const p of projections.values()) p.startingUntil = Date.now() + ms;
    },
    lagBy: (ms) => {
      lagMs = ms;
    },
    list: () =>
      [...projections.values()].map((p) => ({
        name: p.name,
        status: statusText(p),
        emitEnabled: p.emitEnabled,
        position: p.position,
        ...(p.status === 'Faulted' ? { faultReason: p.faultReason } : {}),
      })),
    idle: async (timeoutMs = 10_000) => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const busy = [...projections.values()].some((p) => {
          if (p.status !== 'Running' || p.category === undefined) return false;
          const s = log.read(`$ce-${p.category}`);
          return Array.isArray(s) && s.length > 0 && (s[s.length - 1] as Stored).revision > p.position;
        });
        if (!busy) return;
        if (Date.now() > until) throw new Error('fake projections did not catch up in time');
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () => {
      closed = true;
      unlisten();
      if (readyTimer !== undefined) clearTimeout(readyTimer);
      for (const p of projections.values()) if (p.scheduled !== undefined) clearTimeout(p.scheduled);
    },
  };
};

/** The records of the log by kind, to count what a job costs the server. */
export const countRecords = (log: FakeLog): Record<'user' | 'ce' | 'category' | 'index' | 'result' | 'other', number> => {
  const counts = { user: 0, ce: 0, category: 0, index: 0, result: 0, other: 0 };
  for (const e of log.all()) {
    if (!e.stream.startsWith('$')) counts.user += 1;
    else if (e.stream.startsWith('$ce-')) counts.ce += 1;
    else if (e.stream.startsWith('$category-')) counts.category += 1;
    else if (e.stream.startsWith('$jobtrail-index-')) counts.index += 1;
    else if (e.stream.startsWith('$projections-') && e.stream.endsWith('-result')) counts.result += 1;
    else counts.other += 1;
  }
  return counts;
};
