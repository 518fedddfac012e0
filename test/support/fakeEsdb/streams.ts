// The fake's Streams service (event_store.client.streams.Streams) over the
// in-memory log, answering as EventStoreDB 24.10 does (src/EventStore.Core/
// Services/Transport/Grpc/Streams.*.cs, Status.cs, RpcExceptions.cs):
// - Read: a stream (StreamNotFound in-band for a missing or soft-deleted
//   stream, StreamDeleted as an error status for a tombstoned one), `$all`
//   (system records and links included), subscriptions to either, and
//   `resolveLinkTos` (a resolved link carries both `link` and `event`; a link
//   whose target is gone carries only `link`).
// - BatchAppend: the duplex stream real servers advertise; every error of one
//   append comes back in-band as a google.rpc.Status with a typed detail,
//   except a NotLeader with leader info, which fails the whole call (the
//   server throws it from the write's callback) and so every append in flight.
// - Append (the unary path, used by clients that see no BatchAppend), Delete
//   (soft) and Tombstone (hard), with errors as status plus `exception` metadata.
import type { FakeLog, Expected, NewEvent, Stored } from './log.js';
import { deletedStreamText, tombstoneRevision } from './log.js';
import { anyPb, emptyPb, grpc, rpcError, sharedPb, statusPb, streamsPb, StreamsService, type Grpc, type StreamsPb } from './grpcModules.js';

const { ReadResp, AppendResp, BatchAppendResp, DeleteResp, TombstoneResp } = streamsPb;

/** The faults the fake can inject; each is answered the way the server answers it on that path. */
export type FaultKind = 'access-denied' | 'not-leader' | 'deadline' | 'unavailable';
export interface Fault {
  readonly kind: FaultKind;
  /** For `deadline` and `unavailable` on appends: the events were written before the failure (the ack is what was lost). */
  readonly written: boolean;
}
export type Operation = 'append' | 'read' | 'delete';

/** What the Streams service needs from the running fake. */
export interface StreamsContext {
  readonly log: FakeLog;
  /** `anonymous`: no credentials (AccessDenied on a secure server); `bad`: credentials the server does not know (UNAUTHENTICATED). */
  authenticate(metadata: Grpc.Metadata): 'ok' | 'anonymous' | 'bad';
  takeFault(operation: Operation): Fault | undefined;
  /** Where a NotLeader answer says the leader is. */
  leader(): { readonly host: string; readonly port: number };
  /** Stream reads without positions, as servers before 22.6 answer them: the Position.End sentinel, or nothing (proto3's 0). */
  readonly legacyPositions: 'end-sentinel' | 'zero' | undefined;
  /** Counts a call of a method (`Read`, `Subscribe`, `Append`, `BatchAppend`, `BatchAppend.request`, `Delete`, `Tombstone`). */
  count(method: string): void;
  /** Live calls the fake may end (dropSubscriptions, stop): each ends its call with the error given, or cleanly. */
  readonly subscriptions: Set<(error?: Grpc.ServiceError) => void>;
  readonly batchAppends: Set<(error?: Grpc.ServiceError) => void>;
}

type Position = { readonly commit: bigint; readonly prepare: bigint };
const compare = (a: Position, b: Position): number =>
  a.commit !== b.commit ? (a.commit < b.commit ? -1 : 1) : a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1;

const utf8 = new TextDecoder();
const streamName = (identifier: { getStreamName_asU8(): Uint8Array } | undefined): string =>
  utf8.decode(identifier?.getStreamName_asU8() ?? new Uint8Array(0));
const identifierOf = (stream: string): InstanceType<typeof sharedPb.StreamIdentifier> => {
  const identifier = new sharedPb.StreamIdentifier();
  identifier.setStreamName(Buffer.from(stream, 'utf8'));
  return identifier;
};
const uuidOf = (id: string): InstanceType<typeof sharedPb.UUID> => {
  const uuid = new sharedPb.UUID();
  uuid.setString(id);
  return uuid;
};

// ---- errors as the server sends them ----

/** RpcExceptions.AccessDenied. */
export const accessDenied = (): Grpc.ServiceError =>
  rpcError(grpc.status.PERMISSION_DENIED, 'Access Denied', { exception: 'access-denied' });
/** The authentication middleware refusing credentials it does not know (HTTP 401). */
export const unauthenticated = (): Grpc.ServiceError => rpcError(grpc.status.UNAUTHENTICATED, 'Bad username or password');
const unavailable = (): Grpc.ServiceError => rpcError(grpc.status.UNAVAILABLE, 'fake connection lost');
const deadlineExceeded = (): Grpc.ServiceError => rpcError(grpc.status.DEADLINE_EXCEEDED, 'Deadline Exceeded');
/** RpcExceptions.LeaderInfo: NOT_FOUND with where the leader is; the client reconnects there. */
const notLeader = (leader: { host: string; port: number }): Grpc.ServiceError =>
  rpcError(grpc.status.NOT_FOUND, 'Leader info available', {
    exception: 'not-leader',
    'leader-endpoint-host': leader.host,
    'leader-endpoint-port': String(leader.port),
  });
/** RpcExceptions.StreamDeleted. */
const streamDeletedError = (stream: string): Grpc.ServiceError =>
  rpcError(grpc.status.FAILED_PRECONDITION, `Event stream '${stream}' is deleted.`, { exception: 'stream-deleted', 'stream-name': stream });
/** RpcExceptions.MaxAppendSizeExceeded. */
const maxAppendSizeError = (max: number): Grpc.ServiceError =>
  rpcError(grpc.status.INVALID_ARGUMENT, `Maximum Append Size of ${max} Exceeded.`, {
    exception: 'maximum-append-size-exceeded',
    'maximum-append-size': String(max),
  });
const expectedText = (expected: Expected): string =>
  expected.kind === 'revision' ? String(expected.revision) : { any: '-2', no_stream: '-1', stream_exists: '-4' }[expected.kind];
/** RpcExceptions.WrongExpectedVersion (Delete and Tombstone). */
const wrongExpectedVersionError = (operation: string, stream: string, expected: Expected, current: number): Grpc.ServiceError =>
  rpcError(
    grpc.status.FAILED_PRECONDITION,
    `${operation} failed due to WrongExpectedVersion. Stream: ${stream}, Expected version: ${expectedText(expected)}, Actual version: ${current}`,
    {
      exception: 'wrong-expected-version',
      'stream-name': stream,
      'expected-version': expectedText(expected),
      'actual-version': String(current),
    },
  );

const faultError = (fault: Fault, ctx: StreamsContext): Grpc.ServiceError =>
  fault.kind === 'access-denied'
    ? accessDenied()
    : fault.kind === 'not-leader'
      ? notLeader(ctx.leader())
      : fault.kind === 'deadline'
        ? deadlineExceeded()
        : unavailable();

// google.rpc.Status, as BatchAppend answers one append (Status.cs).
type RpcStatus = InstanceType<typeof statusPb.Status>;
const rpcStatus = (code: number, message: string, detail: { serializeBinary(): Uint8Array }, typeName: string): RpcStatus => {
  const status = new statusPb.Status();
  status.setCode(code);
  status.setMessage(message);
  const any = new anyPb.Any();
  any.pack(detail.serializeBinary(), typeName);
  status.setDetails(any);
  return status;
};
const statusAccessDenied = () =>
  rpcStatus(grpc.status.PERMISSION_DENIED, 'AccessDenied', new sharedPb.AccessDenied(), 'event_store.client.AccessDenied');
const statusTimeout = () => rpcStatus(grpc.status.DEADLINE_EXCEEDED, 'Timeout', new sharedPb.Timeout(), 'event_store.client.Timeout');
const statusStreamDeleted = (stream: string) => {
  const detail = new sharedPb.StreamDeleted();
  detail.setStreamIdentifier(identifierOf(stream));
  return rpcStatus(grpc.status.NOT_FOUND, 'StreamDeleted', detail, 'event_store.client.StreamDeleted');
};
const statusMaxAppendSize = (max: number) => {
  const detail = new sharedPb.MaximumAppendSizeExceeded();
  detail.setMaxappendsize(max);
  return rpcStatus(grpc.status.INVALID_ARGUMENT, 'MaximumAppendSizeExceeded', detail, 'event_store.client.MaximumAppendSizeExceeded');
};
const statusWrongExpectedVersion = (expected: Expected, current: number) => {
  const detail = new sharedPb.WrongExpectedVersion();
  if (current < 0) detail.setCurrentNoStream(new emptyPb.Empty());
  else detail.setCurrentStreamRevision(String(current));
  if (expected.kind === 'revision') detail.setExpectedStreamPosition(String(expected.revision));
  else if (expected.kind === 'no_stream') detail.setExpectedNoStream(new emptyPb.Empty());
  else if (expected.kind === 'stream_exists') detail.setExpectedStreamExists(new emptyPb.Empty());
  else detail.setExpectedAny(new emptyPb.Empty());
  return rpcStatus(grpc.status.ALREADY_EXISTS, 'WrongExpectedVersion', detail, 'event_store.client.WrongExpectedVersion');
};

// ---- reads ----

const toRecorded = (e: Stored, position: Position | undefined): StreamsPb.ReadResp.ReadEvent.RecordedEvent => {
  const recorded = new ReadResp.ReadEvent.RecordedEvent();
  recorded.setId(uuidOf(e.id));
  recorded.setStreamIdentifier(identifierOf(e.stream));
  // A tombstone's event number is long.MaxValue (EventNumber.DeletedStream).
  recorded.setStreamRevision(e.revision === tombstoneRevision ? deletedStreamText : String(e.revision));
  if (position) {
    recorded.setCommitPosition(position.commit.toString());
    recorded.setPreparePosition(position.prepare.toString());
  }
  recorded.getMetadataMap().set('type', e.type);
  recorded.getMetadataMap().set('content-type', e.contentType);
  recorded.getMetadataMap().set('created', e.createdTicks.toString());
  recorded.setCustomMetadata(e.customMetadata);
  recorded.setData(e.data);
  return recorded;
};

const endSentinel: Position = { commit: 18446744073709551615n, prepare: 18446744073709551615n };

/** Streams.Read's ConvertToReadEvent: `event` and/or `link`, and the original (link's, else event's) commit position. */
const toReadResp = (ctx: StreamsContext, e: Stored, resolveLinks: boolean, streamRead: boolean): StreamsPb.ReadResp => {
  const legacy = streamRead ? ctx.legacyPositions : undefined;
  const positionOf = (record: Stored): Position | undefined =>
    legacy === 'end-sentinel' ? endSentinel : legacy === 'zero' ? undefined : { commit: record.commit, prepare: record.prepare };
  const read = new ReadResp.ReadEvent();
  if (resolveLinks && e.type === '$>') {
    read.setLink(toRecorded(e, positionOf(e)));
    const target = ctx.log.resolve(e);
    if (target) read.setEvent(toRecorded(target, positionOf(target)));
  } else {
    read.setEvent(toRecorded(e, positionOf(e)));
  }
  if (legacy === undefined) read.setCommitPosition(e.commit.toString());
  else read.setNoPosition(new sharedPb.Empty());
  const resp = new ReadResp();
  resp.setEvent(read);
  return resp;
};

const matches = (expression: StreamsPb.ReadReq.Options.FilterOptions.Expression | undefined, value: string): boolean => {
  if (!expression) return true;
  const prefixes = expression.getPrefixList();
  if (prefixes.length > 0) return prefixes.some((p) => value.startsWith(p));
  return new RegExp(expression.getRegex()).test(value);
};

const matchesFilter = (filter: StreamsPb.ReadReq.Options.FilterOptions | undefined, e: Stored): boolean =>
  filter === undefined ||
  (filter.hasStreamIdentifier() ? matches(filter.getStreamIdentifier(), e.stream) : matches(filter.getEventType(), e.type));

/** Adds the Streams service to `server`. */
export const addStreamsService = (server: Grpc.Server, ctx: StreamsContext): void => {
  const { log } = ctx;

  /** The credentials' verdict as an error to end the call with, or undefined when they may go on. */
  const refused = (metadata: Grpc.Metadata): Grpc.ServiceError | undefined => {
    const verdict = ctx.authenticate(metadata);
    return verdict === 'bad' ? unauthenticated() : verdict === 'anonymous' ? accessDenied() : undefined;
  };

  const read: Grpc.handleServerStreamingCall<StreamsPb.ReadReq, StreamsPb.ReadResp> = (call) => {
    const options = call.request.getOptions();
    const subscribing = options?.hasSubscription() ?? false;
    ctx.count(subscribing ? 'Subscribe' : 'Read');
    const fail = (error: Grpc.ServiceError) => void call.emit('error', error);
    const denied = refused(call.metadata);
    if (denied) return fail(denied);
    if (!options) return call.end();
    const fault = ctx.takeFault('read');
    if (fault) return fail(faultError(fault, ctx));
    const count = options.hasCount() ? Number(options.getCount()) : Number.MAX_SAFE_INTEGER;
    const backwards = options.getReadDirection() === streamsPb.ReadReq.Options.ReadDirection.BACKWARDS;
    const resolveLinks = options.getResolveLinks();
    const streamOptions = options.getStream();

    if (streamOptions) {
      const name = streamName(streamOptions.getStreamIdentifier());
      const events = log.read(name);
      if (events === 'tombstoned') return fail(streamDeletedError(name));
      if (!subscribing) {
        if (events === undefined) {
          const notFound = new ReadResp.StreamNotFound();
          notFound.setStreamIdentifier(identifierOf(name));
          const resp = new ReadResp();
          resp.setStreamNotFound(notFound);
          call.write(resp);
          return call.end();
        }
        const last = events[events.length - 1] as Stored;
        const from = streamOptions.hasRevision()
          ? Number(streamOptions.getRevision())
          : streamOptions.hasEnd() || backwards
            ? last.revision
            : 0;
        const selected = backwards ? events.filter((e) => e.revision <= from).reverse() : events.filter((e) => e.revision >= from);
        for (const e of selected.slice(0, count)) call.write(toReadResp(ctx, e, resolveLinks, true));
        return call.end();
      }
      // A subscription to one stream: after the revision given (exclusive), from the start, or only what comes.
      const after = streamOptions.hasRevision() ? Number(streamOptions.getRevision()) : streamOptions.hasEnd() ? Infinity : -1;
      const from = streamOptions.hasEnd() ? log.lastRevision(name) : after;
      return subscribe(
        call,
        (e) => e.stream === name && e.revision > from,
        events === undefined ? [] : events,
        resolveLinks,
        true,
        (e) => (e.stream === name && e.type === '$streamDeleted' ? streamDeletedError(name) : undefined),
      );
    }

    const allOptions = options.getAll();
    const start: Position | undefined = allOptions?.hasPosition()
      ? {
          commit: BigInt(allOptions.getPosition()?.getCommitPosition() ?? '0'),
          prepare: BigInt(allOptions.getPosition()?.getPreparePosition() ?? '0'),
        }
      : undefined;
    const atEnd = allOptions?.hasEnd() ?? false;
    const records = log.all();
    if (!subscribing) {
      // Forwards from a position includes the record there; backwards gives those before it.
      const selected = backwards
        ? records.filter((e) => atEnd || start === undefined || compare(e, start) < 0).reverse()
        : records.filter((e) => !atEnd && (start === undefined || compare(e, start) >= 0));
      for (const e of selected.slice(0, count)) call.write(toReadResp(ctx, e, resolveLinks, false));
      return call.end();
    }
    // Subscribing from a position starts after it (Enumerator.AllSubscriptionFiltered); from the end, with what comes next.
    const head = records[records.length - 1];
    const floor = atEnd ? head : start;
    const filter = options.getFilter();
    return subscribe(
      call,
      (e) => (floor === undefined || compare(e, floor) > 0) && matchesFilter(filter, e),
      records,
      resolveLinks,
      false,
      () => undefined,
    );
  };

  const subscribe = (
    call: Grpc.ServerWritableStream<StreamsPb.ReadReq, StreamsPb.ReadResp>,
    wanted: (e: Stored) => boolean,
    past: readonly Stored[],
    resolveLinks: boolean,
    streamRead: boolean,
    endsWith: (e: Stored) => Grpc.ServiceError | undefined,
  ) => {
    const confirmation = new ReadResp();
    const confirmed = new ReadResp.SubscriptionConfirmation();
    confirmed.setSubscriptionId(`fake-${Math.random().toString(36).slice(2)}`);
    confirmation.setConfirmation(confirmed);
    call.write(confirmation);
    for (const e of past) if (wanted(e)) call.write(toReadResp(ctx, e, resolveLinks, streamRead));
    const caughtUp = new ReadResp();
    caughtUp.setCaughtUp(new ReadResp.CaughtUp());
    call.write(caughtUp);
    let open = true;
    const end = (error?: Grpc.ServiceError) => {
      if (!open) return;
      done();
      // grpc-js ends a server stream with the status of an 'error' it emits.
      if (error) call.emit('error', error);
      else call.end();
    };
    const unlisten = log.onAppend((e) => {
      const error = endsWith(e);
      if (error) return end(error);
      if (wanted(e)) call.write(toReadResp(ctx, e, resolveLinks, streamRead));
    });
    const done = () => {
      open = false;
      unlisten();
      ctx.subscriptions.delete(end);
    };
    ctx.subscriptions.add(end);
    call.on('cancelled', done);
    call.on('close', done);
    call.on('error', done);
  };

  // ---- appends ----

  const expectedOf = (options: {
    hasRevision?(): boolean;
    getRevision?(): string;
    hasNoStream(): boolean;
    hasStreamExists(): boolean;
  }): Expected =>
    options.hasRevision?.()
      ? { kind: 'revision', revision: Number(options.getRevision?.()) }
      : options.hasNoStream()
        ? { kind: 'no_stream' }
        : options.hasStreamExists()
          ? { kind: 'stream_exists' }
          : { kind: 'any' };

  const proposed = (m: {
    getId(): InstanceType<typeof sharedPb.UUID> | undefined;
    getMetadataMap(): { get(key: string): string | undefined };
    getData_asU8(): Uint8Array;
    getCustomMetadata_asU8(): Uint8Array;
  }): NewEvent => ({
    id: m.getId()?.getString() ?? '',
    type: m.getMetadataMap().get('type') ?? '',
    contentType: m.getMetadataMap().get('content-type') ?? 'application/octet-stream',
    data: m.getData_asU8(),
    customMetadata: m.getCustomMetadata_asU8(),
  });

  /** The unary Append (clients that were not told of BatchAppend): errors are statuses, WrongExpectedVersion is in the response. */
  const append: Grpc.handleClientStreamingCall<StreamsPb.AppendReq, StreamsPb.AppendResp> = (call, callback) => {
    ctx.count('Append');
    let stream = '';
    let expected: Expected = { kind: 'any' };
    const events: NewEvent[] = [];
    let size = 0;
    let tooBig = false;
    call.on('data', (req: StreamsPb.AppendReq) => {
      const options = req.getOptions();
      if (options) {
        stream = streamName(options.getStreamIdentifier());
        expected = expectedOf(options);
      }
      const message = req.getProposedMessage();
      if (message) {
        const event = proposed(message);
        // Streams.Append.cs counts each event as it arrives and throws once the total is over the limit.
        size += log.appendSize([event]);
        if (size > log.maxAppendSize) tooBig = true;
        events.push(event);
      }
    });
    call.on('end', () => {
      const denied = refused(call.metadata);
      if (denied) return callback(denied);
      if (tooBig) return callback(maxAppendSizeError(log.maxAppendSize));
      const fault = ctx.takeFault('append');
      if (fault && !(fault.written && (fault.kind === 'deadline' || fault.kind === 'unavailable'))) return callback(faultError(fault, ctx));
      const result = log.append(stream, events, expected);
      if (fault) return callback(faultError(fault, ctx));
      const resp = new AppendResp();
      if (!result.ok) {
        if (result.reason === 'deleted') return callback(streamDeletedError(stream));
        if (result.reason === 'too-big') return callback(maxAppendSizeError(result.max));
        const wrong = new AppendResp.WrongExpectedVersion();
        if (result.current < 0) wrong.setCurrentNoStream(new emptyPb.Empty());
        else wrong.setCurrentRevision(String(result.current));
        if (expected.kind === 'revision') wrong.setExpectedRevision(String(expected.revision));
        else if (expected.kind === 'no_stream') wrong.setExpectedNoStream(new emptyPb.Empty());
        else if (expected.kind === 'stream_exists') wrong.setExpectedStreamExists(new emptyPb.Empty());
        else wrong.setExpectedAny(new emptyPb.Empty());
        resp.setWrongExpectedVersion(wrong);
        return callback(null, resp);
      }
      const success = new AppendResp.Success();
      success.setCurrentRevision(String(result.last.revision));
      const position = new AppendResp.Position();
      position.setCommitPosition(result.last.commit.toString());
      position.setPreparePosition(result.last.prepare.toString());
      success.setPosition(position);
      resp.setSuccess(success);
      callback(null, resp);
    });
  };

  /** BatchAppend (Streams.BatchAppend.cs): one duplex call carries many appends, each named by a correlation id. */
  const batchAppend: Grpc.handleBidiStreamingCall<StreamsPb.BatchAppendReq, StreamsPb.BatchAppendResp> = (call) => {
    ctx.count('BatchAppend');
    interface Pending {
      readonly stream: string;
      readonly expected: Expected;
      readonly events: NewEvent[];
      size: number;
    }
    const pending = new Map<string, Pending>();
    let open = true;
    const end = (error?: Grpc.ServiceError) => {
      if (!open) return;
      open = false;
      ctx.batchAppends.delete(end);
      if (error) call.emit('error', error);
      else call.end();
    };
    ctx.batchAppends.add(end);
    call.on('cancelled', () => end());
    call.on('error', () => {
      open = false;
      ctx.batchAppends.delete(end);
    });
    call.on('end', () => end());
    const denied = ctx.authenticate(call.metadata) === 'bad' ? unauthenticated() : undefined;
    if (denied) return end(denied);
    const anonymous = ctx.authenticate(call.metadata) === 'anonymous';

    const respond = (correlation: InstanceType<typeof sharedPb.UUID> | undefined, stream: string, outcome: RpcStatus | Stored) => {
      if (!open) return;
      const resp = new BatchAppendResp();
      if (correlation) resp.setCorrelationId(correlation);
      resp.setStreamIdentifier(identifierOf(stream));
      if (outcome instanceof statusPb.Status) {
        resp.setError(outcome);
      } else {
        const success = new BatchAppendResp.Success();
        success.setCurrentRevision(String(outcome.revision));
        const position = new sharedPb.AllStreamPosition();
        position.setCommitPosition(outcome.commit.toString());
        position.setPreparePosition(outcome.prepare.toString());
        success.setPosition(position);
        resp.setSuccess(success);
      }
      call.write(resp);
    };

    call.on('data', (req: StreamsPb.BatchAppendReq) => {
      ctx.count('BatchAppend.request');
      const correlation = req.getCorrelationId();
      const key = correlation?.getString() ?? '';
      const options = req.getOptions();
      if (options) {
        const stream = streamName(options.getStreamIdentifier());
        if (anonymous) return respond(correlation, stream, statusAccessDenied());
        const deadline = options.getDeadline();
        if (deadline && deadline.toDate().getTime() <= Date.now()) return respond(correlation, stream, statusTimeout());
        if (!pending.has(key)) {
          pending.set(key, {
            stream,
            expected: options.hasStreamPosition()
              ? { kind: 'revision', revision: Number(options.getStreamPosition()) }
              : expectedOf({ hasNoStream: () => options.hasNoStream(), hasStreamExists: () => options.hasStreamExists() }),
            events: [],
            size: 0,
          });
        }
      }
      const write = pending.get(key);
      if (!write) return; // refused already (size, access), or never announced: the server ignores the rest of it
      for (const message of req.getProposedMessagesList()) {
        const event = proposed(message);
        write.size += log.appendSize([event]);
        write.events.push(event);
      }
      if (write.size > log.maxAppendSize) {
        pending.delete(key);
        return respond(correlation, write.stream, statusMaxAppendSize(log.maxAppendSize));
      }
      if (!req.getIsFinal()) return;
      pending.delete(key);
      const fault = ctx.takeFault('append');
      const writesFirst = fault !== undefined && fault.written && (fault.kind === 'deadline' || fault.kind === 'unavailable');
      if (fault && !writesFirst) return batchFault(fault, correlation, write.stream);
      const result = log.append(write.stream, write.events, write.expected);
      if (fault) return batchFault(fault, correlation, write.stream);
      if (result.ok) return respond(correlation, write.stream, result.last);
      if (result.reason === 'deleted') return respond(correlation, write.stream, statusStreamDeleted(write.stream));
      if (result.reason === 'too-big') return respond(correlation, write.stream, statusMaxAppendSize(result.max));
      return respond(correlation, write.stream, statusWrongExpectedVersion(write.expected, result.current));
    });

    const batchFault = (fault: Fault, correlation: InstanceType<typeof sharedPb.UUID> | undefined, stream: string) => {
      switch (fault.kind) {
        case 'access-denied':
          return respond(correlation, stream, statusAccessDenied());
        case 'deadline':
          return respond(correlation, stream, statusTimeout());
        // The server throws RpcExceptions.LeaderInfo from the write's callback: the whole call fails, every append in it.
        case 'not-leader':
          return end(notLeader(ctx.leader()));
        case 'unavailable':
          return end(unavailable());
      }
    };
  };

  // ---- deletes ----

  const deleting =
    (mode: 'soft' | 'hard') =>
    (
      call: Grpc.ServerUnaryCall<StreamsPb.DeleteReq | StreamsPb.TombstoneReq, StreamsPb.DeleteResp | StreamsPb.TombstoneResp>,
      callback: Grpc.sendUnaryData<StreamsPb.DeleteResp | StreamsPb.TombstoneResp>,
    ) => {
      ctx.count(mode === 'soft' ? 'Delete' : 'Tombstone');
      const denied = refused(call.metadata);
      if (denied) return callback(denied);
      const fault = ctx.takeFault('delete');
      if (fault) return callback(faultError(fault, ctx));
      const options = call.request.getOptions();
      if (!options) return callback(rpcError(grpc.status.INVALID_ARGUMENT, 'options are required'));
      const stream = streamName(options.getStreamIdentifier());
      const expected = expectedOf(options);
      const result = log.delete(stream, expected, mode);
      if (!result.ok) {
        if (result.reason === 'deleted') return callback(streamDeletedError(stream));
        return callback(wrongExpectedVersionError(mode === 'soft' ? 'Delete' : 'Tombstone', stream, expected, result.current));
      }
      const resp = mode === 'soft' ? new DeleteResp() : new TombstoneResp();
      const position = mode === 'soft' ? new DeleteResp.Position() : new TombstoneResp.Position();
      position.setCommitPosition(result.written.commit.toString());
      position.setPreparePosition(result.written.prepare.toString());
      (resp as { setPosition(p: typeof position): unknown }).setPosition(position);
      callback(null, resp);
    };

  server.addService(StreamsService, {
    read,
    append,
    batchAppend,
    delete: deleting('soft'),
    tombstone: deleting('hard'),
  } as unknown as Grpc.UntypedServiceImplementation);
};
