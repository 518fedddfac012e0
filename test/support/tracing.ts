// An OpenTelemetry SDK for the tracing tests, registered as an application
// registers one (docs/tracing.md): a tracer provider whose spans go to an
// in-memory exporter, the AsyncLocalStorage context manager and the W3C
// propagator. Once per test process: the API's globals are set once.
import { Writable } from 'node:stream';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import type { Logger } from '../../src/log/index.js';

export const exporter = new InMemorySpanExporter();

/**
 * Registers the SDK, as an application does: for one suite (`test.before`). uvu runs every selected file in one
 * process, so the suite unregisters it after (`unregisterTestSdk`), and the other files run without one.
 */
export const registerTestSdk = (): void => {
  exporter.reset();
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
};

/** Unregisters what `registerTestSdk` registered (`test.after`). */
export const unregisterTestSdk = (): void => {
  trace.disable();
  context.disable();
  propagation.disable();
  exporter.reset();
};

/** The finished spans of one trace. */
export const spansOf = (traceId: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);

/** The finished spans whose `jobtrail.job.id` is `jobId`. */
export const spansOfJob = (jobId: string): ReadableSpan[] =>
  exporter.getFinishedSpans().filter((s) => s.attributes['jobtrail.job.id'] === jobId);

/** The parent span id of a span (`undefined` for a root). */
export const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;

/** A `traceparent` of span `s`. */
export const traceparentOf = (s: ReadableSpan): string => `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01`;

/** A pino logger at `debug` whose JSON lines are kept in `lines` (parsed) and `raw` (as written). */
export const capturedLogger = (): { logger: Logger; lines: Record<string, unknown>[]; raw: string[] } => {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n'))
        if (l.trim() !== '') {
          raw.push(l);
          lines.push(JSON.parse(l) as Record<string, unknown>);
        }
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines, raw };
};
