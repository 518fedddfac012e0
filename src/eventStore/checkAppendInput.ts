import { appendTooLarge, type AppendTooLarge, type EventData, type ExpectedRevision } from './eventStore.js';

/** The canonical text form of a UUID (any version), as EventStoreDB accepts it. */
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `value` is a UUID in its canonical `8-4-4-4-12` hex form. */
export const isUuid = (value: unknown): value is string => typeof value === 'string' && uuidPattern.test(value);

/** An event checked and serialised for writing. */
export interface CheckedEvent {
  /** Lower-case UUID. */
  readonly id: string;
  readonly type: string;
  readonly isJson: boolean;
  /** The caller's data, untouched. */
  readonly data: unknown;
  /** `JSON.stringify(data)` when `isJson`. */
  readonly json: string | undefined;
  /** The bytes when not `isJson`. */
  readonly bytes: Uint8Array | undefined;
  /** The caller's metadata, `undefined` when absent. */
  readonly metadata: Readonly<Record<string, unknown>> | undefined;
}

const where = (index: number, stream: string): string => `event ${index} of the append to "${stream}"`;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);

/**
 * Checks what a caller passes to `append` and serialises the events. A bad
 * input is a defect of the caller, so it is thrown as a `TypeError` (as
 * EventStoreDB's client and server reject it), never returned as a value.
 */
export const checkAppendInput = (
  stream: string,
  events: readonly EventData[],
  expectedRevision: ExpectedRevision,
): readonly CheckedEvent[] => {
  if (typeof stream !== 'string' || stream.length === 0) {
    throw new TypeError(`stream name must be a non-empty string; got ${JSON.stringify(stream)}`);
  }
  if (
    expectedRevision !== 'no_stream' &&
    expectedRevision !== 'any' &&
    expectedRevision !== 'stream_exists' &&
    !(typeof expectedRevision === 'number' && Number.isSafeInteger(expectedRevision) && expectedRevision >= 0)
  ) {
    throw new TypeError(
      `expectedRevision must be "no_stream", "any", "stream_exists" or a revision (an integer >= 0); got ${String(expectedRevision)}`,
    );
  }
  if (!Array.isArray(events)) throw new TypeError(`events must be an array; got ${typeof events}`);
  const checked: CheckedEvent[] = new Array(events.length);
  for (let index = 0; index < events.length; index += 1) {
    const event = events[index] as EventData;
    if (!isUuid(event.id)) {
      throw new TypeError(`${where(index, stream)}: id must be a UUID (e.g. from uuid's v4 or v7); got ${JSON.stringify(event.id)}`);
    }
    if (typeof event.type !== 'string' || event.type.length === 0) {
      throw new TypeError(`${where(index, stream)}: type must be a non-empty string; got ${JSON.stringify(event.type)}`);
    }
    if (event.metadata !== undefined && !isPlainObject(event.metadata)) {
      throw new TypeError(`${where(index, stream)}: metadata must be a plain object when present`);
    }
    const isJson = !(event.data instanceof Uint8Array);
    const json: unknown = isJson ? JSON.stringify(event.data) : undefined;
    if (isJson && typeof json !== 'string') {
      throw new TypeError(`${where(index, stream)}: data must be a JSON value or a Uint8Array; got ${typeof event.data}`);
    }
    checked[index] = {
      id: event.id.toLowerCase(),
      type: event.type,
      isJson,
      data: event.data,
      json: json as string | undefined,
      bytes: isJson ? undefined : (event.data as Uint8Array),
      metadata: event.metadata,
    };
  }
  return checked;
};

/** Throws a `TypeError` unless `value` is undefined or an integer >= 0. */
export const checkCount = (name: string, value: number | undefined): void => {
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
    throw new TypeError(`${name} must be an integer >= 0; got ${String(value)}`);
  }
};

/**
 * The largest append both stores accept, in bytes: EventStoreDB's default MaxAppendSize (1 MiB,
 * `ClusterVNodeOptions.MaxAppendSize`). One limit for both stores, so that what works on the embedded store also works on
 * EventStoreDB. A server configured lower still refuses on its own; the adapter reports that as `AppendTooLarge` too.
 */
export const maxAppendSize = 1_048_576;

/** The size EventStoreDB counts for one event (`Event.SizeOnDisk`): data and metadata bytes as sent, plus the type's UTF-16 length × 2. */
const sizeOf = (dataBytes: number, metadata: Readonly<Record<string, unknown>> | undefined, type: string): number =>
  dataBytes + (metadata === undefined ? 0 : Buffer.byteLength(JSON.stringify(metadata), 'utf8')) + type.length * 2;

const checkedSize = (events: readonly CheckedEvent[]): number =>
  events.reduce(
    (sum, e) => sum + sizeOf(e.isJson ? Buffer.byteLength(e.json as string, 'utf8') : (e.bytes as Uint8Array).length, e.metadata, e.type),
    0,
  );

/**
 * The size of an append as EventStoreDB counts it against MaxAppendSize (`Streams.BatchAppend.cs`, `Event.SizeOnDisk`):
 * for each event, its data (JSON text as UTF-8, or the bytes), its metadata as JSON (UTF-8, nothing when absent) and
 * twice the length of its type. Compare with {@link maxAppendSize}. Throws what `append` throws for an event that is not
 * valid (a `TypeError`).
 */
export const appendSize = (events: readonly EventData[]): number => checkedSize(checkAppendInput('size', events, 'any'));

/** `AppendTooLarge` when the checked events are over {@link maxAppendSize}; both adapters refuse them so, before sending anything. */
export const checkAppendSize = (stream: string, events: readonly CheckedEvent[]): AppendTooLarge | undefined => {
  const size = checkedSize(events);
  return size > maxAppendSize ? appendTooLarge(stream, size, maxAppendSize) : undefined;
};
