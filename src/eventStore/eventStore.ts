import type * as TE from 'fp-ts/lib/TaskEither.js';

/**
 * What the writer believes the stream's revision to be, as in EventStoreDB:
 * `no_stream` (the stream must not exist), `any`, `stream_exists`, or the
 * revision (0-based) of the stream's last event.
 */
export type ExpectedRevision = 'no_stream' | 'any' | 'stream_exists' | number;

/**
 * A place in the global log (`$all`), opaque to callers: pass back what the
 * store gave. Text, so that EventStoreDB's 64-bit commit/prepare positions
 * keep their precision.
 */
export type Position = string;

/** An event to append. */
export interface EventData {
  /** A UUID chosen by the writer; appending the same ids again at the same expected revision is a no-op. */
  readonly id: string;
  readonly type: string;
  /** A JSON value, or a `Uint8Array` for a non-JSON body. */
  readonly data: unknown;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** An event as stored. */
export interface RecordedEvent {
  readonly streamId: string;
  /** 0-based revision within its stream. */
  readonly revision: number;
  readonly position: Position;
  readonly id: string;
  readonly type: string;
  /** Parsed JSON when `isJson`, else the raw bytes as a `Uint8Array`. */
  readonly data: unknown;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly isJson: boolean;
  /** When the store recorded it, ISO-8601 UTC. */
  readonly created: string;
  /**
   * With `SubscribeOptions.asText`, when the adapter has them: the data (a JSON event's) and the metadata as stored,
   * JSON text (`data` and `metadata` may then be empty).
   */
  readonly text?: { readonly data: string | undefined; readonly metadata: string };
}

export interface AppendResult {
  /** The revision of the stream's last event after the append; `-1` when the stream still does not exist (an empty batch). */
  readonly nextExpectedRevision: number;
  readonly position: Position;
}

/** The stream was not at the expected revision: someone else moved it first. Read again, decide again. */
export interface WrongExpectedRevision {
  readonly _tag: 'WrongExpectedRevision';
  readonly stream: string;
  readonly expected: ExpectedRevision;
  /** The stream's actual last revision, or `no_stream`. */
  readonly actual: number | 'no_stream';
  readonly message: string;
}

/** The conflict both adapters report, in the same words. */
export const wrongExpectedRevision = (stream: string, expected: ExpectedRevision, actual: number | 'no_stream'): WrongExpectedRevision => ({
  _tag: 'WrongExpectedRevision',
  stream,
  expected,
  actual,
  message: `stream "${stream}" is at revision ${actual}, not ${expected}: another writer moved it first; read it again and decide again`,
});

/** The store could not be reached or could not write; nothing was recorded. Try again later. */
export interface StoreUnavailable {
  readonly _tag: 'StoreUnavailable';
  readonly message: string;
  readonly cause?: unknown;
}

/**
 * The stream was deleted for good (EventStoreDB's tombstone, `client.tombstoneStream`): it can be neither read nor
 * written again, under any revision. Only an operator makes one; the embedded store never reports it.
 */
export interface StreamDeleted {
  readonly _tag: 'StreamDeleted';
  readonly stream: string;
  readonly message: string;
}

export const streamDeleted = (stream: string): StreamDeleted => ({
  _tag: 'StreamDeleted',
  stream,
  message: `stream "${stream}" was deleted for good (tombstoned) in the event store; it can be neither read nor written again`,
});

/**
 * The append is larger than the stores accept (`maxAppendSize` in checkAppendInput.ts, EventStoreDB's MaxAppendSize);
 * nothing was written. Never worth retrying: the same events will never fit.
 */
export interface AppendTooLarge {
  readonly _tag: 'AppendTooLarge';
  readonly stream: string;
  /** The size as EventStoreDB counts it (see `appendSize`); `undefined` when the server refused and did not say. */
  readonly size: number | undefined;
  readonly limit: number;
  readonly message: string;
}

export const appendTooLarge = (stream: string, size: number | undefined, limit: number): AppendTooLarge => ({
  _tag: 'AppendTooLarge',
  stream,
  size,
  limit,
  message: `the append to "${stream}" is ${size === undefined ? 'over' : `${size} bytes, over`} the limit of ${limit} bytes (data, metadata and types of its events); make the payload or result smaller, or keep large data outside the job and pass a reference`,
});

export type AppendError = WrongExpectedRevision | StoreUnavailable | StreamDeleted | AppendTooLarge;

/** Why `readStream` gave no events: the store was unavailable, or the stream was deleted for good. */
export type ReadStreamError = StoreUnavailable | StreamDeleted;

export interface ReadStreamOptions {
  /** First revision to read. Default: 0. */
  readonly fromRevision?: number;
  /** Default: all. */
  readonly maxCount?: number;
}

export interface ReadAllOptions {
  /** Read events strictly after this position. Default: from the start. */
  readonly after?: Position;
  /** Default: all (the caller pages with `after`). */
  readonly maxCount?: number;
  /** Only streams whose name starts with this text. Default: every stream, system streams (`$…`) excluded. */
  readonly streamPrefix?: string;
}

export interface SubscribeOptions {
  /** Deliver events strictly after this checkpoint. Default: from the start. */
  readonly after?: Position;
  /** Only streams whose name starts with this text. Default: every stream, system streams excluded. */
  readonly streamPrefix?: string;
  /**
   * A hint for a subscriber that only wants other writers' events: events
   * appended through this same store instance after the subscription started
   * *may* be left out (the SQLite store skips its own commits without reading
   * them back). An adapter that cannot tell whose events they are
   * (EventStoreDB) delivers them, so the subscriber must still tolerate its
   * own events. Default: false (every event is delivered).
   */
  readonly skipOwnAppends?: boolean;
  /**
   * A hint for a subscriber that only wants events of these types: an adapter may leave the others out
   * (EventStoreDB filters them on the server, so a rare event type costs the subscription almost nothing; the SQLite
   * store reads its own file and delivers every type). The subscriber must still tolerate other types. Default: all.
   */
  readonly eventTypes?: readonly string[];
  /**
   * A hint for a subscriber that reads the `data` and `metadata` of only these event types (and of the others only
   * `streamId`, `revision`, `position`, `id`, `type`): an adapter may deliver the others with both empty (`{}`),
   * sparing their decoding (the SQLite store does for the events of its own commits). Default: every event whole.
   */
  readonly dataFor?: readonly string[];
  /**
   * A hint for a subscriber that reads the data and metadata as JSON text (`RecordedEvent.text`) when it is given:
   * an adapter that gives it may then leave `data` and `metadata` empty (`{}`), sparing their decoding (the SQLite
   * store does, for its own commits and for what it reads). The subscriber must still take events without it.
   */
  readonly asText?: boolean;
}

export interface SubscriptionHandlers {
  /** Called once per event, in global order; the next event waits for the returned promise. */
  readonly onEvent: (event: RecordedEvent) => void | Promise<void>;
  /** Called when the subscription stops for good because of an error (the adapter retries passing faults itself). */
  readonly onError?: (error: StoreUnavailable | Error) => void;
}

export interface Subscription {
  /** Stops delivering; resolves once no handler is running. */
  stop(): Promise<void>;
}

/**
 * The event-store port (docs/architecture.md#ports-and-adapters). Adapters: SQLite (`sqlite:…`) and
 * EventStoreDB (`esdb://…`). Both pass `test/contract/eventStoreContract.ts`.
 */
export interface EventStore {
  /** A short name for logs: `sqlite`, `esdb`. */
  readonly kind: string;
  /** Appends atomically at the expected revision. An empty batch checks the revision and appends nothing. */
  append(
    stream: string,
    events: readonly EventData[],
    options: { readonly expectedRevision: ExpectedRevision },
  ): TE.TaskEither<AppendError, AppendResult>;
  /**
   * The stream's events in revision order; a stream that does not exist (or was soft-deleted) reads as empty, one
   * deleted for good is `StreamDeleted`.
   */
  readStream(stream: string, options?: ReadStreamOptions): TE.TaskEither<ReadStreamError, readonly RecordedEvent[]>;
  /**
   * Deletes the stream (docs/retention.md), checked at the expected revision as an append is: EventStoreDB's soft
   * delete (the name may be used again: a new stream continues its numbering there, from 0 in SQLite); SQLite deletes
   * its rows and the space is reused. Deleting a stream that does not exist is `WrongExpectedRevision` unless
   * `any`. The events stay in reads of `$all` already made, never in later reads of the stream.
   */
  deleteStream(stream: string, options: { readonly expectedRevision: ExpectedRevision }): TE.TaskEither<AppendError, void>;
  /** Events of every stream in global order. */
  readAll(options?: ReadAllOptions): TE.TaskEither<StoreUnavailable, readonly RecordedEvent[]>;
  /**
   * The position of the last event in the global log (system streams
   * included), or `undefined` when the log is empty: subscribe `after` it to
   * get only what comes next.
   */
  headPosition(): TE.TaskEither<StoreUnavailable, Position | undefined>;
  /** Catches up from the checkpoint, then delivers new events live, until stopped. */
  subscribe(options: SubscribeOptions, handlers: SubscriptionHandlers): Subscription;
  /**
   * Keeps a working stream bounded: events older than its last `keepLast` may be dropped for good (never the last
   * `keepLast`; revisions do not change). EventStoreDB: sets the stream's `$maxCount` metadata, which the server
   * enforces from then on (once per stream and store instance); SQLite: deletes them now. For streams that are not a
   * record (the rate limiters' permits, docs/rate-limits.md), never for job streams. Optional: a store without it keeps
   * everything.
   */
  trimStream?(stream: string, keepLast: number): TE.TaskEither<StoreUnavailable, void>;
  /** Releases the connection; stops every subscription. */
  close(): Promise<void>;
}
