// A stand-in for EventStoreDB's gRPC Streams service, for running the
// EventStoreDB adapter where no server is available. It is NOT EventStoreDB:
// an in-memory log with EventStoreDB's commit check (its IndexWriter.CheckCommit),
// served over real gRPC with the client's own generated service definitions,
// so that the adapter and @eventstore/db-client run for real end to end. What
// it cannot show is how a real server differs from this reading of it; the
// contract against a real server (ESDB_URL) remains the authority.
//
// Only what the adapter uses: Streams.Append, Streams.Read (stream, $all,
// subscription to $all with a stream-name filter). ServerFeatures is not
// served, so the client appends through Streams.Append, not BatchAppend.
import { createRequire } from 'node:module';
import type * as Grpc from '@grpc/grpc-js';
import type * as SharedPb from '@eventstore/db-client/generated/shared_pb.js';
import type * as StreamsGrpcPb from '@eventstore/db-client/generated/streams_grpc_pb.js';
import type * as StreamsPb from '@eventstore/db-client/generated/streams_pb.js';

// The client's own copies, so that its classes and ours are the same.
const fromClient = createRequire(createRequire(import.meta.url).resolve('@eventstore/db-client'));
const grpc = fromClient('@grpc/grpc-js') as typeof Grpc;
const streamsPb = fromClient('../generated/streams_pb') as typeof StreamsPb;
const sharedPb = fromClient('../generated/shared_pb') as typeof SharedPb;
const { StreamsService } = fromClient('../generated/streams_grpc_pb') as typeof StreamsGrpcPb;
const { ReadResp, AppendResp } = streamsPb;

interface Stored {
  readonly stream: string;
  readonly revision: number;
  readonly id: string;
  readonly type: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly customMetadata: Uint8Array;
  readonly createdTicks: bigint;
  readonly commit: bigint;
  readonly prepare: bigint;
}

type Position = { readonly commit: bigint; readonly prepare: bigint };
const compare = (a: Position, b: Position): number =>
  a.commit !== b.commit ? (a.commit < b.commit ? -1 : 1) : a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1;

/** A running fake: its connection string, and knobs to make it misbehave. */
export interface FakeEsdb {
  readonly connectionString: string;
  /** Ends every live subscription call with UNAVAILABLE, as a dropped connection does. */
  dropSubscriptions(): void;
  /** The next `count` appends fail with UNAVAILABLE after they were written (the ack is lost) or before (`written: false`). */
  failNextAppends(count: number, written: boolean): void;
  /** How many subscription calls were opened so far. */
  readonly subscriptionCalls: number;
  stop(): Promise<void>;
}

/** Starts the fake on a free local port. */
export const startFakeEsdb = async (): Promise<FakeEsdb> => {
  const log: Stored[] = [];
  const streams = new Map<string, Stored[]>();
  const live = new Set<(event: Stored) => void>();
  const calls = new Set<Grpc.ServerWritableStream<StreamsPb.ReadReq, StreamsPb.ReadResp>>();
  let nextPosition = 1000n;
  let failing = { count: 0, written: false };
  let subscriptionCalls = 0;

  const unavailable = (): Grpc.ServiceError =>
    Object.assign(new Error('14 UNAVAILABLE: fake connection lost'), {
      code: grpc.status.UNAVAILABLE,
      details: 'fake connection lost',
      metadata: new grpc.Metadata(),
    });

  type Expected = { kind: 'any' | 'no_stream' | 'stream_exists' } | { kind: 'revision'; revision: number };
  type Check = { decision: 'ok' } | { decision: 'idempotent'; last: Stored } | { decision: 'wrong'; current: number };

  // EventStoreDB's IndexWriter.CheckCommit, on the in-memory log.
  const check = (stream: string, expected: Expected, ids: readonly string[]): Check => {
    const events = streams.get(stream) ?? [];
    const current = events.length - 1;
    const wrong: Check = { decision: 'wrong', current };
    if (expected.kind === 'stream_exists' && current < 0) return wrong;
    if (expected.kind === 'any' || expected.kind === 'stream_exists') {
      let last: Stored | undefined;
      for (const [i, id] of ids.entries()) {
        const found = [...events].reverse().find((e) => e.id === id);
        if (!found) return i === 0 ? { decision: 'ok' } : wrong;
        last = found;
      }
      return last ? { decision: 'idempotent', last } : { decision: 'ok' };
    }
    const from = expected.kind === 'revision' ? expected.revision : -1;
    if (from < current) {
      let revision = from;
      for (const id of ids) {
        revision += 1;
        if (events[revision]?.id !== id) return wrong;
      }
      return revision === from ? wrong : { decision: 'idempotent', last: events[revision] as Stored };
    }
    return from > current ? wrong : { decision: 'ok' };
  };

  const toReadResp = (e: Stored): StreamsPb.ReadResp => {
    const recorded = new ReadResp.ReadEvent.RecordedEvent();
    const id = new sharedPb.UUID();
    id.setString(e.id);
    recorded.setId(id);
    const identifier = new sharedPb.StreamIdentifier();
    identifier.setStreamName(Buffer.from(e.stream, 'utf8'));
    recorded.setStreamIdentifier(identifier);
    recorded.setStreamRevision(String(e.revision));
    recorded.setCommitPosition(e.commit.toString());
    recorded.setPreparePosition(e.prepare.toString());
    recorded.getMetadataMap().set('type', e.type);
    recorded.getMetadataMap().set('content-type', e.contentType);
    recorded.getMetadataMap().set('created', e.createdTicks.toString());
    recorded.setCustomMetadata(e.customMetadata);
    recorded.setData(e.data);
    const read = new ReadResp.ReadEvent();
    read.setEvent(recorded);
    read.setCommitPosition(e.commit.toString());
    const resp = new ReadResp();
    resp.setEvent(read);
    return resp;
  };

  const append: Grpc.handleClientStreamingCall<StreamsPb.AppendReq, StreamsPb.AppendResp> = (call, callback) => {
    let stream = '';
    let expected: Expected = { kind: 'any' };
    const proposed: StreamsPb.AppendReq.ProposedMessage[] = [];
    call.on('data', (req: StreamsPb.AppendReq) => {
      const options = req.getOptions();
      if (options) {
        stream = Buffer.from(options.getStreamIdentifier()?.getStreamName_asU8() ?? []).toString('utf8');
        expected = options.hasRevision()
          ? { kind: 'revision', revision: Number(options.getRevision()) }
          : options.hasNoStream()
            ? { kind: 'no_stream' }
            : options.hasStreamExists()
              ? { kind: 'stream_exists' }
              : { kind: 'any' };
      }
      const message = req.getProposedMessage();
      if (message) proposed.push(message);
    });
    call.on('end', () => {
      if (failing.count > 0 && !failing.written) {
        failing.count -= 1;
        return callback(unavailable());
      }
      const ids = proposed.map((m) => m.getId()?.getString() ?? '');
      const decision = check(stream, expected, ids);
      const resp = new AppendResp();
      if (decision.decision === 'wrong') {
        const wrong = new AppendResp.WrongExpectedVersion();
        if (decision.current < 0) wrong.setCurrentNoStream(new sharedPb.Empty());
        else wrong.setCurrentRevision(String(decision.current));
        if (expected.kind === 'revision') wrong.setExpectedRevision(String(expected.revision));
        else if (expected.kind === 'no_stream') wrong.setExpectedNoStream(new sharedPb.Empty());
        else if (expected.kind === 'stream_exists') wrong.setExpectedStreamExists(new sharedPb.Empty());
        else wrong.setExpectedAny(new sharedPb.Empty());
        resp.setWrongExpectedVersion(wrong);
        return callback(null, resp);
      }
      let last: Stored;
      if (decision.decision === 'idempotent') {
        last = decision.last;
      } else {
        const events = streams.get(stream) ?? [];
        streams.set(stream, events);
        const commit = nextPosition;
        const created = BigInt(Date.now()) * 10_000n;
        for (const m of proposed) {
          const stored: Stored = {
            stream,
            revision: events.length,
            id: m.getId()?.getString() ?? '',
            type: m.getMetadataMap().get('type') ?? '',
            contentType: m.getMetadataMap().get('content-type') ?? 'application/octet-stream',
            data: m.getData_asU8(),
            customMetadata: m.getCustomMetadata_asU8(),
            createdTicks: created,
            commit,
            prepare: nextPosition,
          };
          nextPosition += 137n;
          events.push(stored);
          log.push(stored);
          for (const listener of live) listener(stored);
        }
        last = events[events.length - 1] as Stored;
      }
      if (failing.count > 0) {
        failing.count -= 1;
        return callback(unavailable());
      }
      const success = new AppendResp.Success();
      success.setCurrentRevision(String(last.revision));
      const position = new AppendResp.Position();
      position.setCommitPosition(last.commit.toString());
      position.setPreparePosition(last.prepare.toString());
      success.setPosition(position);
      resp.setSuccess(success);
      callback(null, resp);
    });
  };

  const matchesFilter = (filter: StreamsPb.ReadReq.Options.FilterOptions | undefined, stream: string): boolean => {
    const expression = filter?.getStreamIdentifier();
    if (!expression) return true;
    const prefixes = expression.getPrefixList();
    if (prefixes.length > 0) return prefixes.some((p) => stream.startsWith(p));
    return new RegExp(expression.getRegex()).test(stream);
  };

  const read: Grpc.handleServerStreamingCall<StreamsPb.ReadReq, StreamsPb.ReadResp> = (call) => {
    const options = call.request.getOptions();
    if (!options) return call.end();
    const count = options.hasCount() ? Number(options.getCount()) : Number.MAX_SAFE_INTEGER;
    const backwards = options.getReadDirection() === streamsPb.ReadReq.Options.ReadDirection.BACKWARDS;
    const streamOptions = options.getStream();
    if (streamOptions) {
      const name = Buffer.from(streamOptions.getStreamIdentifier()?.getStreamName_asU8() ?? []).toString('utf8');
      const events = streams.get(name);
      if (!events) {
        const notFound = new ReadResp.StreamNotFound();
        notFound.setStreamIdentifier(streamOptions.getStreamIdentifier());
        const resp = new ReadResp();
        resp.setStreamNotFound(notFound);
        call.write(resp);
        return call.end();
      }
      const from = streamOptions.hasRevision()
        ? Number(streamOptions.getRevision())
        : streamOptions.hasEnd()
          ? events.length - 1
          : backwards
            ? events.length - 1
            : 0;
      const selected = backwards ? events.slice(0, from + 1).reverse() : events.slice(from);
      for (const e of selected.slice(0, count)) call.write(toReadResp(e));
      return call.end();
    }
    const allOptions = options.getAll();
    const start: Position | undefined = allOptions?.hasPosition()
      ? {
          commit: BigInt(allOptions.getPosition()?.getCommitPosition() ?? '0'),
          prepare: BigInt(allOptions.getPosition()?.getPreparePosition() ?? '0'),
        }
      : undefined;
    if (!options.hasSubscription()) {
      // Reading $all from a position includes the event at that position.
      const selected = log.filter((e) => start === undefined || compare(e, start) >= 0);
      for (const e of selected.slice(0, count)) call.write(toReadResp(e));
      return call.end();
    }
    subscriptionCalls += 1;
    calls.add(call);
    const filter = options.getFilter();
    const confirmation = new ReadResp();
    const confirmed = new ReadResp.SubscriptionConfirmation();
    confirmed.setSubscriptionId(`fake-${subscriptionCalls}`);
    confirmation.setConfirmation(confirmed);
    call.write(confirmation);
    // Subscribing from a position starts after it.
    const deliver = (e: Stored) => {
      if ((start === undefined || compare(e, start) > 0) && matchesFilter(filter, e.stream)) call.write(toReadResp(e));
    };
    for (const e of log) deliver(e);
    const caughtUp = new ReadResp();
    caughtUp.setCaughtUp(new ReadResp.CaughtUp());
    call.write(caughtUp);
    live.add(deliver);
    const done = () => {
      live.delete(deliver);
      calls.delete(call);
    };
    call.on('cancelled', done);
    call.on('close', done);
    call.on('error', done);
  };

  const server = new grpc.Server();
  server.addService(StreamsService, { read, append } as unknown as Grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );

  return {
    connectionString: `esdb://127.0.0.1:${port}?tls=false`,
    dropSubscriptions: () => {
      for (const call of [...calls]) {
        calls.delete(call);
        // grpc-js ends a server stream with the status of an 'error' it emits.
        call.emit('error', unavailable());
      }
    },
    failNextAppends: (count, written) => {
      failing = { count, written };
    },
    get subscriptionCalls() {
      return subscriptionCalls;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const call of calls) call.end();
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
  };
};
