/**
 * The W3C Trace Context of a job as jobtrail carries it: in the `traceparent`
 * and `tracestate` headers of AMQP messages (enqueue commands, work messages)
 * and in the metadata of events (`JobEnqueued`: the enqueue's context;
 * `JobStarted` and the other events of an attempt: the attempt's span). Pure:
 * no OpenTelemetry here, so that the store layer can read and write it.
 */

/** A trace context as text: a valid `traceparent`, and its `tracestate` when there is one. */
export interface TraceCarrier {
  readonly traceparent: string;
  readonly tracestate?: string;
}

/** The header (and metadata key) of the W3C `traceparent`. */
export const traceparentKey = 'traceparent';
/** The header (and metadata key) of the W3C `tracestate`. */
export const tracestateKey = 'tracestate';

/** Longest `traceparent` taken (version 00 is 55 characters; later versions may append fields). */
const maxTraceparentLength = 256;
/** Longest `tracestate` taken (the W3C limit: 32 members, 512 characters is what propagators must keep). */
const maxTracestateLength = 512;

const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^\s]*)?$/;
const allZeros = /^0+$/;
// Printable ASCII without the few characters the W3C grammar never uses in a list.
const tracestatePattern = /^[\x20-\x7e]*$/;

/**
 * The `traceparent` if `value` is a valid one (W3C Trace Context level 1: lowercase hex, version not `ff`, trace and
 * span ids not all zeros, version 00 with exactly four fields), else `undefined`. Anything else is ignored, never thrown.
 */
export const validTraceparent = (value: unknown): string | undefined => {
  if (typeof value !== 'string' || value.length > maxTraceparentLength) return undefined;
  const text = value.trim();
  const m = traceparentPattern.exec(text);
  if (m === null) return undefined;
  const [, version, traceId, spanId, , rest] = m;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (allZeros.test(traceId!) || allZeros.test(spanId!)) return undefined;
  return text;
};

/** The `tracestate` if `value` is one that may be passed on (text, printable ASCII, at most 512 characters), else `undefined`. */
export const validTracestate = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length <= maxTracestateLength && tracestatePattern.test(value) && value.trim() !== ''
    ? value.trim()
    : undefined;

/** The trace context in `source` (message headers, event metadata), checked; `undefined` when it has no valid `traceparent`. */
export const traceCarrierOf = (source: Readonly<Record<string, unknown>> | TraceCarrier | undefined): TraceCarrier | undefined => {
  if (source === undefined) return undefined;
  const entries = source as Readonly<Record<string, unknown>>;
  if (entries[traceparentKey] === undefined) return undefined;
  const traceparent = validTraceparent(entries[traceparentKey]);
  if (traceparent === undefined) return undefined;
  const tracestate = validTracestate(entries[tracestateKey]);
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate };
};

/** The trace id (32 hex digits) of a valid `traceparent`. */
export const traceIdOf = (traceparent: string): string => traceparent.slice(3, 35);

/** The parent span id (16 hex digits) of a valid `traceparent`. */
export const spanIdOf = (traceparent: string): string => traceparent.slice(36, 52);

/** The carrier as headers or metadata entries. */
export const traceEntries = (carrier: TraceCarrier): Record<string, string> =>
  carrier.tracestate === undefined
    ? { [traceparentKey]: carrier.traceparent }
    : { [traceparentKey]: carrier.traceparent, [tracestateKey]: carrier.tracestate };

/** `{ traceId }` for a log line, from the `traceparent` in `source` (headers, metadata); empty when there is none. */
export const traceLogFields = (source: Readonly<Record<string, unknown>> | undefined): { traceId?: string } => {
  const traceparent = validTraceparent(source?.[traceparentKey]);
  return traceparent === undefined ? {} : { traceId: traceIdOf(traceparent) };
};
