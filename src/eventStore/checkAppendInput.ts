import type { EventData, ExpectedRevision } from './eventStore.js';

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
