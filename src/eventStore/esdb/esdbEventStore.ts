import { setTimeout as sleep } from 'node:timers/promises';
import {
  AccessDeniedError,
  ANY,
  BACKWARDS,
  binaryEvent,
  CancelledError,
  convertToCommandError,
  DeadlineExceededError,
  END,
  EventStoreDBClient,
  FORWARDS,
  isCommandError,
  jsonEvent,
  MaxAppendSizeExceededError,
  NO_STREAM,
  NotLeaderError,
  START,
  STREAM_EXISTS,
  StreamDeletedError,
  StreamNotFoundError,
  eventTypeFilter,
  streamNameFilter,
  TimeoutError,
  UnavailableError,
  UnknownError,
  WrongExpectedVersionError,
  type AppendExpectedRevision,
  type EventData as EsdbEventData,
  type JSONType,
  type Position as EsdbPosition,
  type RecordedEvent as EsdbRecordedEvent,
} from '@eventstore/db-client';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { StoreAccessDeniedError, StoreUnsupportedError } from '../../errors/index.js';
import { checkAppendInput, checkAppendSize, checkCount, type CheckedEvent } from '../checkAppendInput.js';
import {
  appendTooLarge,
  streamDeleted,
  wrongExpectedRevision,
  type AppendError,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type ReadAllOptions,
  type ReadStreamError,
  type ReadStreamOptions,
  type RecordedEvent,
  type StoreUnavailable,
  type StreamDeleted,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionHandlers,
} from '../eventStore.js';
import { makeSubscriptionSet, type EventSource } from '../runSubscription.js';
import { matchesStreamPrefix } from '../streamNames.js';

/** Options of {@link makeEsdbEventStore}. */
export interface EsdbEventStoreOptions {
  /** EventStoreDB's connection string: `esdb://host:2113?tls=false`, `esdb+discover://…`. */
  readonly connectionString: string;
  /** Attempts of one operation when the server is unavailable, not the leader or too slow. Default: 4. */
  readonly maxAttempts?: number;
  /** The first pause between attempts; it doubles each time, up to 5 s. Default: 200 ms. */
  readonly retryBaseDelayMs?: number;
  /** Attempts in a row to resubscribe a dropped subscription before it stops with `StoreUnavailable`. Default: 10. */
  readonly resubscribeAttempts?: number;
  /** A client to use, shared with its other users (the read side); its owner disposes it. Default: one made from `connectionString`, disposed on `close()`. */
  readonly client?: EventStoreDBClient;
}

const pageSize = 500;
const maxDelayMs = 5000;

/** `"<commit>/<prepare>"`: EventStoreDB's 64-bit positions as text, so they keep their precision. */
const encodePosition = (p: EsdbPosition): string => `${p.commit}/${p.prepare}`;

const decodePosition = (position: string): EsdbPosition => {
  const match = typeof position === 'string' ? /^(\d{1,20})\/(\d{1,20})$/.exec(position) : null;
  if (!match) {
    throw new TypeError(
      `not a position of the EventStoreDB event store: ${JSON.stringify(position)}; pass back a position this store gave ("<commit>/<prepare>")`,
    );
  }
  return { commit: BigInt(match[1] as string), prepare: BigInt(match[2] as string) };
};

const comparePositions = (a: EsdbPosition, b: EsdbPosition): number =>
  a.commit !== b.commit ? (a.commit < b.commit ? -1 : 1) : a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1;

const toNumber = (revision: bigint): number => {
  if (revision > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`stream revision ${revision} is beyond what jobtrail can hold (${Number.MAX_SAFE_INTEGER})`);
  }
  return Number(revision);
};

/** The actual revision of a conflict: a revision, or `no_stream` (the client says `no_stream` or, from gRPC metadata, `-1`). */
const actualRevision = (current: bigint | 'no_stream' | undefined): number | 'no_stream' =>
  current === undefined || current === 'no_stream' || current < 0n ? 'no_stream' : toNumber(current);

const toEsdbExpected = (expected: ExpectedRevision): AppendExpectedRevision =>
  expected === 'no_stream' ? NO_STREAM : expected === 'any' ? ANY : expected === 'stream_exists' ? STREAM_EXISTS : BigInt(expected);

const toEsdbEvent = (event: CheckedEvent): EsdbEventData =>
  event.isJson
    ? jsonEvent({ id: event.id, type: event.type, data: event.data as JSONType, metadata: event.metadata })
    : binaryEvent({ id: event.id, type: event.type, data: event.bytes as Uint8Array, metadata: event.metadata });

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);

interface RawEvent {
  readonly event: EsdbRecordedEvent;
}

/** Position.End: what the server puts where it knows no position (`Position.FromInt64(-1, -1)`). */
const endOfLog = 18446744073709551615n;

/**
 * Servers before 22.6 send no position with the events of a stream read (their ResolvedEvent has none). The client
 * does not say so: it builds `position` from the proto3 defaults, so such an event arrives at `0/0`, or at the
 * Position.End sentinel. No real event sits at either (the log starts with the server's own records), so either one
 * means the server is too old, and jobtrail cannot order or checkpoint what it reads.
 */
const hasNoPosition = (p: EsdbPosition | undefined): boolean =>
  p === undefined || p.commit === endOfLog || p.prepare === endOfLog || (p.commit === 0n && p.prepare === 0n);

/**
 * A tombstone (`$streamDeleted`, written by `client.tombstoneStream`) as it appears in `$all`: a record of the deleted
 * stream at event number long.MaxValue, not an event anyone appended. Reads and subscriptions of `$all` skip it.
 */
const isTombstone = (event: EsdbRecordedEvent): boolean => event.type === '$streamDeleted' && event.revision === 9223372036854775807n;

const toRecordedEvent = ({ event }: RawEvent): RecordedEvent => {
  const position = event.position;
  if (hasNoPosition(position)) {
    throw new StoreUnsupportedError(
      `EventStoreDB 22.6 or newer is needed: the server sent event ${event.revision} of "${event.streamId}" without a position ` +
        `(${position === undefined ? 'none' : encodePosition(position)}), as servers before 22.6 do; upgrade the server (jobtrail is tested with 24.10)`,
    );
  }
  return {
    streamId: event.streamId,
    revision: toNumber(event.revision),
    position: encodePosition(position as EsdbPosition),
    id: event.id,
    type: event.type,
    data: event.isJson ? event.data : new Uint8Array(event.data),
    metadata: isPlainObject(event.metadata) ? event.metadata : {},
    isJson: event.isJson,
    created: event.created.toISOString(),
  };
};

/** Every error the client raises, as its own class (some paths hand back raw gRPC errors). */
const asCommandError = (thrown: unknown): Error =>
  thrown instanceof Error ? convertToCommandError(thrown) : new Error(String(thrown), { cause: thrown });

/** The error to raise for an AccessDenied: it names the fix, since retrying cannot help. */
const accessDenied = (what: string, cause: Error): StoreAccessDeniedError =>
  new StoreAccessDeniedError(
    `EventStoreDB refused access to ${what} (AccessDenied): the server is secure and this connection gives no credentials, or wrong ones, ` +
      `or a user without the rights. Put a user's credentials in the connection string (esdb://user:pass@host:2113, over TLS), ` +
      `or let anonymous clients in on the server (AllowAnonymousStreamAccess=true)`,
    { cause },
  );

/**
 * Faults of reaching the server that pass (it starts, it is not the leader,
 * it is slow). A plain `Error` from the client that is not one of its
 * command errors comes from reaching the cluster (discovery).
 */
export const isTransientEsdbError = (error: unknown): boolean =>
  error instanceof UnavailableError ||
  error instanceof NotLeaderError ||
  error instanceof DeadlineExceededError ||
  error instanceof TimeoutError ||
  error instanceof CancelledError ||
  (error instanceof Error && !isCommandError(error) && error.constructor === Error);

/** Faults worth another attempt of a stream operation: the transient ones, and the server's unknown errors. */
const isPassing = (error: Error): boolean => isTransientEsdbError(error) || error instanceof UnknownError;

/**
 * The event store on EventStoreDB through `@eventstore/db-client` 6.x
 * (the event-store port). Event ids pass through, so a retried append is idempotent;
 * passing faults are retried with backoff, then reported as
 * `StoreUnavailable`. Positions are `"<commit>/<prepare>"`. `readAll` filters
 * by stream prefix on the client (the 6.x client reads `$all` unfiltered),
 * so a rare prefix over a long log reads all of it; subscriptions filter on
 * the server. Needs EventStoreDB 22.6 or later (positions on stream reads).
 * The connection is made on first use.
 */
export const makeEsdbEventStore = (options: EsdbEventStoreOptions): EventStore => {
  const { connectionString, maxAttempts = 4, retryBaseDelayMs = 200, resubscribeAttempts = 10 } = options;
  const ownsClient = options.client === undefined;
  const client = options.client ?? EventStoreDBClient.connectionString(connectionString);
  const backoff = (attempt: number): number => Math.min(retryBaseDelayMs * 2 ** (attempt - 1), maxDelayMs) * (0.8 + Math.random() * 0.4);
  let closed = false;
  let closing: Promise<void> | undefined;

  const unavailable = (what: string, cause?: Error): StoreUnavailable => ({
    _tag: 'StoreUnavailable',
    message:
      cause === undefined
        ? `EventStoreDB: ${what}: the store is closed; open a new one`
        : `EventStoreDB: ${what}: ${cause.constructor.name} (${cause.message}) after ${maxAttempts} attempts; check that the server is up and reachable, then try again`,
    ...(cause === undefined ? {} : { cause }),
  });

  /** Runs `op`, again after passing faults; other errors are defects and are thrown. */
  const withRetry = async <A>(what: string, op: () => Promise<A>): Promise<E.Either<StoreUnavailable, A>> => {
    for (let attempt = 1; ; attempt += 1) {
      if (closed) return E.left(unavailable(what));
      try {
        return E.right(await op());
      } catch (thrown) {
        const error = asCommandError(thrown);
        // A configuration error, not an outage: raised at once, never retried, never reported as unavailable.
        if (error instanceof AccessDeniedError) throw accessDenied(what, error);
        if (!isPassing(error)) throw error;
        if (attempt >= maxAttempts) return E.left(unavailable(what, error));
        await sleep(backoff(attempt));
      }
    }
  };

  const collect = async (reading: AsyncIterable<{ event?: EsdbRecordedEvent }>) => {
    const events: RawEvent[] = [];
    for await (const resolved of reading) {
      if (resolved.event) events.push({ event: resolved.event });
    }
    return events;
  };

  /** A stream read: its events, or `StreamDeleted` once it was tombstoned (the server answers that with an error status). */
  const readStreamRaw = async (stream: string, fromRevision: number, maxCount: number | undefined): Promise<RawEvent[] | StreamDeleted> => {
    try {
      return await collect(
        client.readStream(stream, {
          direction: FORWARDS,
          fromRevision: fromRevision === 0 ? START : BigInt(fromRevision),
          ...(maxCount === undefined ? {} : { maxCount }),
        }),
      );
    } catch (thrown) {
      const error = asCommandError(thrown);
      if (error instanceof StreamNotFoundError) return [];
      if (error instanceof StreamDeletedError) return streamDeleted(stream);
      throw thrown;
    }
  };

  const lastEventRaw = async (stream: string): Promise<RawEvent | undefined | StreamDeleted> => {
    try {
      const [last] = await collect(client.readStream(stream, { direction: BACKWARDS, fromRevision: END, maxCount: 1 }));
      return last;
    } catch (thrown) {
      const error = asCommandError(thrown);
      if (error instanceof StreamNotFoundError) return undefined;
      if (error instanceof StreamDeletedError) return streamDeleted(stream);
      throw thrown;
    }
  };

  const isDeleted = (value: unknown): value is StreamDeleted =>
    typeof value === 'object' && value !== null && (value as { _tag?: unknown })._tag === 'StreamDeleted';

  const conflict = wrongExpectedRevision;

  type Appended = E.Either<AppendError, AppendResult>;

  // EventStoreDB would write an empty transaction to check the revision, and its client reports "no stream"
  // as revision 0 on success; reading the stream's last event answers the same question exactly.
  const checkRevision = async (stream: string, expected: ExpectedRevision): Promise<Appended> => {
    const last = await lastEventRaw(stream);
    if (isDeleted(last)) return E.left(last);
    const current = last === undefined ? -1 : toNumber(last.event.revision);
    const matches =
      expected === 'any' ||
      (expected === 'no_stream' ? last === undefined : expected === 'stream_exists' ? last !== undefined : expected === current);
    if (!matches) return E.left(conflict(stream, expected, last === undefined ? 'no_stream' : current));
    return E.right({
      nextExpectedRevision: current,
      position: last === undefined ? '0/0' : toRecordedEvent(last).position,
    });
  };

  const appendOnce = async (stream: string, events: readonly CheckedEvent[], expected: ExpectedRevision): Promise<Appended> => {
    try {
      const result = await client.appendToStream(stream, events.map(toEsdbEvent), {
        expectedRevision: toEsdbExpected(expected),
      });
      if (!result.success) {
        // Only with throwOnAppendFailure=false in the connection string; the client then garbles the actual revision.
        const last = await lastEventRaw(stream);
        if (isDeleted(last)) return E.left(last);
        return E.left(conflict(stream, expected, last === undefined ? 'no_stream' : toNumber(last.event.revision)));
      }
      const last = result.position === undefined ? await lastEventRaw(stream) : undefined;
      const position = result.position ?? (isDeleted(last) ? undefined : last?.event.position);
      if (position === undefined) throw new Error(`EventStoreDB acknowledged the append to "${stream}" without a position`);
      return E.right({ nextExpectedRevision: toNumber(result.nextExpectedRevision), position: encodePosition(position) });
    } catch (thrown) {
      const error = asCommandError(thrown);
      if (error instanceof WrongExpectedVersionError) return E.left(conflict(stream, expected, actualRevision(error.actualVersion)));
      if (error instanceof StreamDeletedError) return E.left(streamDeleted(stream));
      // The server's own MaxAppendSize, when it is set lower than jobtrail's limit: the same refusal, as a value.
      if (error instanceof MaxAppendSizeExceededError) return E.left(appendTooLarge(stream, undefined, error.maxAppendSize));
      throw error;
    }
  };

  const sourceOf = (options: SubscribeOptions): EventSource =>
    async function* (signal) {
      let last = options.after === undefined ? undefined : decodePosition(options.after);
      const prefix = options.streamPrefix;
      const types = options.eventTypes;
      // One filter per subscription: by event type when the subscriber names its types (the stream prefix is then
      // checked here, below), else by stream name.
      const filter =
        types !== undefined && types.length > 0
          ? eventTypeFilter({ regex: `^(?:${types.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$` })
          : prefix === undefined || prefix === ''
            ? streamNameFilter({ regex: '^[^$]' })
            : streamNameFilter({ prefixes: [prefix] });
      let failures = 0;
      while (!signal.aborted) {
        if (closed) throw unavailable('subscribe');
        // fromPosition is exclusive for subscriptions: resuming from the last delivered event repeats nothing.
        const subscription = client.subscribeToAll({ fromPosition: last ?? START, filter });
        const cancel = () => {
          void subscription.unsubscribe().catch(() => undefined);
          subscription.destroy();
        };
        signal.addEventListener('abort', cancel, { once: true });
        subscription.on('confirmation', () => {
          failures = 0;
        });
        let failure: Error | undefined;
        try {
          for await (const resolved of subscription) {
            const event = resolved.event;
            if (event === undefined || isTombstone(event) || !matchesStreamPrefix(event.streamId, prefix)) continue;
            if (types !== undefined && types.length > 0 && !types.includes(event.type)) continue;
            if (last !== undefined && comparePositions(event.position, last) <= 0) continue;
            failures = 0;
            yield toRecordedEvent({ event });
            last = event.position;
          }
        } catch (thrown) {
          failure = asCommandError(thrown);
        } finally {
          signal.removeEventListener('abort', cancel);
          if (!subscription.destroyed) cancel();
        }
        if (signal.aborted) return;
        if (failure instanceof AccessDeniedError) throw accessDenied('subscribe', failure);
        if (failure !== undefined && !isPassing(failure)) throw failure;
        // Dropped (or ended by the server): resubscribe from the last event delivered, after a pause.
        failures += 1;
        if (failures > resubscribeAttempts) {
          throw unavailable(
            `subscription dropped ${resubscribeAttempts} times in a row`,
            failure ?? new Error('the server ended the subscription'),
          );
        }
        await sleep(backoff(failures), undefined, { signal }).catch(() => undefined);
      }
    };

  const subscriptions = makeSubscriptionSet();
  // The streams whose `$maxCount` this instance set (trimStream), and to what.
  const maxCountSet = new Map<string, number>();

  return {
    kind: 'esdb',

    append: (stream, events, { expectedRevision }): TE.TaskEither<AppendError, AppendResult> => {
      const checked = checkAppendInput(stream, events, expectedRevision);
      // Refused before sending, by the same measure and limit as the embedded store.
      const tooLarge = checkAppendSize(stream, checked);
      if (tooLarge) return async () => E.left(tooLarge);
      return async () =>
        E.flattenW(
          await withRetry(`append to "${stream}"`, () =>
            checked.length === 0 ? checkRevision(stream, expectedRevision) : appendOnce(stream, checked, expectedRevision),
          ),
        );
    },

    // `$maxCount` is enforced by the server from then on: set once per stream by this instance (one `$metadata` event).
    trimStream: (stream: string, keepLast: number): TE.TaskEither<StoreUnavailable, void> => {
      if (!Number.isInteger(keepLast) || keepLast < 1) throw new TypeError(`keepLast must be a whole number ≥ 1, got ${keepLast}`);
      return async () => {
        if (maxCountSet.get(stream) === keepLast) return E.right(undefined);
        const r = await withRetry(`set $maxCount of "${stream}"`, () => client.setStreamMetadata(stream, { maxCount: keepLast }));
        if (E.isRight(r)) maxCountSet.set(stream, keepLast);
        return E.map(() => undefined)(r);
      };
    },

    readStream: (stream: string, options: ReadStreamOptions = {}): TE.TaskEither<ReadStreamError, readonly RecordedEvent[]> => {
      checkCount('fromRevision', options.fromRevision);
      checkCount('maxCount', options.maxCount);
      return async () => {
        if (options.maxCount === 0) return E.right([]);
        const raw = await withRetry(`read stream "${stream}"`, () => readStreamRaw(stream, options.fromRevision ?? 0, options.maxCount));
        if (E.isLeft(raw)) return raw;
        return isDeleted(raw.right) ? E.left(raw.right) : E.right(raw.right.map(toRecordedEvent));
      };
    },

    // Soft delete (docs/retention.md): the name may be used again, the new stream continuing the numbering; a
    // tombstone would refuse a later enqueue of the same job id for ever.
    deleteStream: (stream, { expectedRevision }): TE.TaskEither<AppendError, void> => {
      checkAppendInput(stream, [], expectedRevision);
      return async () =>
        E.flattenW(
          await withRetry(`delete stream "${stream}"`, async (): Promise<E.Either<AppendError, void>> => {
            try {
              await client.deleteStream(stream, {
                expectedRevision:
                  expectedRevision === 'no_stream' ? NO_STREAM : typeof expectedRevision === 'number' ? BigInt(expectedRevision) : ANY,
              });
              return E.right(undefined);
            } catch (thrown) {
              const error = asCommandError(thrown);
              if (error instanceof WrongExpectedVersionError)
                return E.left(conflict(stream, expectedRevision, actualRevision(error.actualVersion)));
              if (error instanceof StreamDeletedError) return E.left(streamDeleted(stream));
              throw error;
            }
          }),
        );
    },

    readAll: (options: ReadAllOptions = {}): TE.TaskEither<StoreUnavailable, readonly RecordedEvent[]> => {
      const after = options.after === undefined ? undefined : decodePosition(options.after);
      checkCount('maxCount', options.maxCount);
      const limit = options.maxCount ?? Number.POSITIVE_INFINITY;
      const readAllRaw = async (): Promise<RawEvent[]> => {
        const found: RawEvent[] = [];
        // readAll's fromPosition is inclusive; the port's `after` is not: skip up to `floor`.
        let floor = after;
        while (found.length < limit) {
          const reading = client.readAll({ fromPosition: floor ?? START, maxCount: pageSize, direction: FORWARDS });
          let read = 0;
          try {
            for await (const resolved of reading) {
              read += 1;
              const event = resolved.event;
              if (event === undefined || (floor !== undefined && comparePositions(event.position, floor) <= 0)) continue;
              floor = event.position;
              if (isTombstone(event) || !matchesStreamPrefix(event.streamId, options.streamPrefix)) continue;
              // Not a `break` at the limit: the page is read to its end (see headPosition).
              if (found.length < limit) found.push({ event });
            }
          } finally {
            await reading.cancel().catch(() => undefined);
          }
          if (read < pageSize) break;
        }
        return found;
      };
      return async () => {
        if (limit === 0) return E.right([]);
        return E.map((events: RawEvent[]) => events.map(toRecordedEvent))(await withRetry('read all', readAllRaw));
      };
    },

    headPosition: (): TE.TaskEither<StoreUnavailable, string | undefined> => async () =>
      withRetry('read the head position', async () => {
        const reading = client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 });
        // Read to the end, never left early: a read left after the server ended it (its status arrived after the
        // loop stopped reading, before cancel()) is never cancelled and never ends, and client.dispose() waits for
        // it for ever, so close() never resolved (a CLI command then exited with 13, the event loop empty).
        let head: string | undefined;
        try {
          for await (const resolved of reading) if (resolved.event && head === undefined) head = encodePosition(resolved.event.position);
          return head;
        } finally {
          await reading.cancel().catch(() => undefined);
        }
      }),

    subscribe: (options: SubscribeOptions, handlers: SubscriptionHandlers): Subscription => {
      if (options.after !== undefined) decodePosition(options.after);
      return subscriptions.run(sourceOf(options), handlers);
    },

    close: () => {
      closing ??= (async () => {
        await subscriptions.stopAll();
        closed = true;
        if (ownsClient) await client.dispose();
      })();
      return closing;
    },
  };
};
