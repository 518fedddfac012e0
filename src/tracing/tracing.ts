import {
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type ProxyTracerProvider,
  type Span,
} from '@opentelemetry/api';
import { engineVersion } from '../version.js';
import { spanIdOf, traceCarrierOf, traceEntries, traceIdOf, type TraceCarrier } from './carrier.js';

/**
 * OpenTelemetry through `@opentelemetry/api` only (docs/tracing.md): the application
 * registers an SDK, a context manager and the W3C propagator (the Node SDK does all
 * three); without them every call here is the API's no-op and nothing is recorded.
 */

/** The instrumentation scope of jobtrail's spans. */
export const tracerName = 'jobtrail';

// Asked for at each span, not kept: a provider registered (or unregistered) later is the one used.
const tracer = () => trace.getTracer(tracerName, engineVersion);

/** `messaging.system` of every span: jobtrail is the messaging system its producers and workers speak to. */
export const messagingSystem = 'jobtrail';

/** The attribute names (OpenTelemetry messaging semantic conventions, and jobtrail's own). */
export const TraceAttributes = {
  system: 'messaging.system',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  destination: 'messaging.destination.name',
  messageId: 'messaging.message.id',
  errorType: 'error.type',
  jobId: 'jobtrail.job.id',
  worker: 'jobtrail.worker',
  attempt: 'jobtrail.attempt',
  outcome: 'jobtrail.outcome',
  created: 'jobtrail.job.created',
  retryAt: 'jobtrail.retry_at',
  broker: 'jobtrail.broker',
} as const;

/** The context a carrier stands for, over `base`; `undefined` when it has no valid `traceparent` or no propagator reads it. */
export const contextFromCarrier = (
  carrier: Readonly<Record<string, unknown>> | TraceCarrier | undefined,
  base: Context = ROOT_CONTEXT,
): Context | undefined => {
  // Only checked values reach the propagator: a malformed header is ignored here, whatever propagator is registered.
  const checked = traceCarrierOf(carrier);
  if (checked === undefined) return undefined;
  const ctx = propagation.extract(base, traceEntries(checked));
  const sc = trace.getSpanContext(ctx);
  return sc !== undefined && isSpanContextValid(sc) ? ctx : undefined;
};

/** The trace context of `ctx` as text (`undefined` when it has no valid span, or no propagator writes it). */
export const carrierOfContext = (ctx: Context): TraceCarrier | undefined => {
  const sc = trace.getSpanContext(ctx);
  if (sc === undefined || !isSpanContextValid(sc)) return undefined;
  const out: Record<string, string> = {};
  propagation.inject(ctx, out);
  return traceCarrierOf(out);
};

/** The active context's trace context as headers, added to `headers` (returned as is when there is none). */
export const withActiveTraceHeaders = <H extends Readonly<Record<string, string | number | boolean>>>(
  headers: H | undefined,
): H | undefined => {
  const carrier = carrierOfContext(context.active());
  return carrier === undefined ? headers : ({ ...headers, ...traceEntries(carrier) } as H);
};

/** Runs `f` in `ctx` (the API's no-op context manager just calls it). */
export const runInContext = <T>(ctx: Context, f: () => T): T => context.with(ctx, f);

/** A delivery's context: the one its headers carry, else a fresh root (never the context a broker callback happened to inherit). */
export const deliveryContext = (headers: Readonly<Record<string, unknown>> | undefined): Context =>
  contextFromCarrier(headers) ?? ROOT_CONTEXT;

/**
 * Whether a span records or carries a context worth passing on: a no-op span without a parent is neither (the API's
 * no-op tracer gives it the very `INVALID_SPAN_CONTEXT` object, checked first: the cheap case when no SDK is there).
 */
const matters = (span: Span): boolean => {
  if (span.isRecording()) return true;
  const sc = span.spanContext();
  return sc !== INVALID_SPAN_CONTEXT && isSpanContextValid(sc);
};

/** An error recorded on a span: its status, `error.type`, and the exception event. */
export const recordSpanError = (span: Span, error: { readonly name: string; readonly message: string; readonly stack?: string }): void => {
  if (!span.isRecording()) return;
  span.setAttribute(TraceAttributes.errorType, error.name);
  span.recordException({ name: error.name, message: error.message, ...(error.stack !== undefined ? { stack: error.stack } : {}) });
  span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.name}: ${error.message}` });
};

/** A started span: the context it makes active, its trace context as text, and its ids for log lines. */
export interface StartedSpan {
  readonly span: Span;
  /** The parent context with this span set: the one to run its work in. */
  readonly context: Context;
  /** `undefined` when nothing is traced (no SDK, or no propagator). */
  readonly carrier: TraceCarrier | undefined;
  /** `{ traceId, spanId }` for log lines; empty when nothing is traced. */
  readonly logFields: { readonly traceId?: string; readonly spanId?: string };
}

const noLogFields = Object.freeze({});

/** Starts a span of `kind` named `name` under `parent`, with `attributes` and `links`. */
export const startSpan = (name: string, kind: SpanKind, parent: Context, attributes: Attributes, links?: readonly Link[]): StartedSpan => {
  const span = tracer().startSpan(
    name,
    { kind, attributes, ...(links !== undefined && links.length > 0 ? { links: [...links] } : {}) },
    parent,
  );
  if (!matters(span)) return { span, context: parent, carrier: undefined, logFields: noLogFields };
  const ctx = trace.setSpan(parent, span);
  const carrier = carrierOfContext(ctx);
  const sc = span.spanContext();
  return {
    span,
    context: ctx,
    carrier,
    logFields: isSpanContextValid(sc)
      ? { traceId: sc.traceId, spanId: sc.spanId }
      : carrier !== undefined
        ? { traceId: traceIdOf(carrier.traceparent), spanId: spanIdOf(carrier.traceparent) }
        : noLogFields,
  };
};

/**
 * Runs `send` (a publish to `destination`) in a `send <destination>` PRODUCER span, a child of the active context;
 * `send` gets the span's trace context as headers to publish with (`undefined` when nothing is traced).
 */
export const traceSend = async <T>(
  destination: string,
  attributes: Attributes,
  send: (headers: Record<string, string> | undefined) => Promise<T>,
): Promise<T> => {
  const s = startSpan(`send ${destination}`, SpanKind.PRODUCER, context.active(), {
    [TraceAttributes.system]: messagingSystem,
    [TraceAttributes.operationType]: 'send',
    [TraceAttributes.operationName]: 'send',
    [TraceAttributes.destination]: destination,
    ...attributes,
  });
  try {
    return await context.with(s.context, () => send(s.carrier === undefined ? undefined : traceEntries(s.carrier)));
  } catch (error) {
    recordSpanError(
      s.span,
      error instanceof Error
        ? { name: error.name, message: error.message, ...(error.stack !== undefined ? { stack: error.stack } : {}) }
        : { name: 'Error', message: String(error) },
    );
    throw error;
  } finally {
    s.span.end();
  }
};

/**
 * Exports the spans an SDK still holds (its `forceFlush`, e.g. a batch processor's last batch) before the process
 * exits; at most `timeoutMs`. Does nothing without an SDK, or with a provider that has no `forceFlush`.
 */
export const flushTraces = async (timeoutMs = 2_000): Promise<void> => {
  const provider: unknown = trace.getTracerProvider();
  const delegate: unknown =
    typeof (provider as { getDelegate?: unknown }).getDelegate === 'function' ? (provider as ProxyTracerProvider).getDelegate() : provider;
  const flush = (delegate as { forceFlush?: () => Promise<void> }).forceFlush;
  if (typeof flush !== 'function') return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    flush.call(delegate).catch(() => undefined),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
  ]);
  clearTimeout(timer);
};

export { SpanKind, SpanStatusCode };
