import type * as E from 'fp-ts/lib/Either.js';
import { enqueueQueueName, type Delivery, type Disposition } from '../broker/index.js';
import { isJobView, type JobView } from '../job/index.js';
import type { LoadedJob } from '../jobStore/index.js';
import { lazyChild, type Logger } from '../log/index.js';
import {
  contextFromCarrier,
  deliveryContext,
  messagingSystem,
  recordSpanError,
  runInContext,
  SpanKind,
  startSpan,
  TraceAttributes as A,
  type TraceCarrier,
} from '../tracing/index.js';
import type { AttemptInput, AttemptOutcome } from '../worker/index.js';
import { context, ROOT_CONTEXT, trace, type Link } from '@opentelemetry/api';

/**
 * The spans of the conductor (docs/tracing.md): `send <queue>` (PRODUCER) for each
 * enqueue, `process <queue>` (CONSUMER) for each attempt, `process jobtrail.enqueue`
 * (CONSUMER) for each enqueue command from the wire. Without an SDK they are the
 * API's no-ops.
 */

/** What an enqueue's span names: its job, worker and queue. */
interface EnqueueTarget {
  readonly jobId: string;
  readonly workerName: string;
  readonly queue: string;
}

/**
 * Runs `record` (append `JobEnqueued`, dispatch) in a `send <queue>` PRODUCER span, a child of the active context
 * (the caller's span, or an enqueue command's). `record` gets the span's trace context, to keep in `JobEnqueued`'s
 * metadata; the dispatch it publishes carries it as header `traceparent` (the active context).
 */
export const traceEnqueue = async <
  L extends { readonly message: string; readonly reason: string },
  R extends { readonly created: boolean },
>(
  broker: string,
  target: EnqueueTarget,
  record: (trace: TraceCarrier | undefined) => Promise<E.Either<L, R>>,
): Promise<E.Either<L, R>> => {
  const s = startSpan(`send ${target.queue}`, SpanKind.PRODUCER, context.active(), {
    [A.system]: messagingSystem,
    [A.operationType]: 'send',
    [A.operationName]: 'send',
    [A.destination]: target.queue,
    [A.messageId]: target.jobId,
    [A.jobId]: target.jobId,
    [A.worker]: target.workerName,
    [A.broker]: broker,
  });
  try {
    const r = await runInContext(s.context, () => record(s.carrier));
    if (r._tag === 'Left') recordSpanError(s.span, { name: r.left.reason, message: r.left.message });
    else s.span.setAttribute(A.created, r.right.created);
    return r;
  } catch (error) {
    recordSpanError(s.span, asErrorInfo(error));
    throw error;
  } finally {
    s.span.end();
  }
};

/** An attempt's span: run the attempt in it, then end it with the outcome. */
export interface AttemptTrace {
  /** The attempt's trace context, for the metadata of its events (`undefined` when nothing is traced). */
  readonly carrier: TraceCarrier | undefined;
  /** A logger whose lines carry the worker, the trace id and the span id (lazily: nothing is made until a line is written). */
  readonly log: Logger;
  /** What `executeAttempt` takes of it: the context for the events, `ctx.log`, and the span to run the action in. */
  readonly input: Pick<AttemptInput, 'trace' | 'log' | 'inContext'>;
  end(outcome: AttemptOutcome | undefined): void;
}

/**
 * Starts the `process <queue>` CONSUMER span of attempt `s.attempts + 1`. Its parent is the job's enqueue context, as
 * `JobEnqueued`'s metadata recorded it (so every attempt, retries included, is a child of the enqueue's `send` span);
 * the delivery's `traceparent` header when the stream has none. When both are there and differ (a dispatch published
 * under another context), the header's is linked.
 */
export const startAttemptTrace = (
  job: LoadedJob,
  s: JobView,
  workerName: string,
  backgroundJobId: string,
  delivery: Pick<Delivery, 'headers' | 'messageId'>,
  /** The engine's logger. */
  log: Logger,
): AttemptTrace => {
  const attempt = s.attempts + 1;
  const fromStream = contextFromCarrier(job.trace);
  const fromHeader = contextFromCarrier(delivery.headers);
  const links: Link[] = [];
  if (fromStream !== undefined && fromHeader !== undefined) {
    const header = trace.getSpanContext(fromHeader)!;
    if (header.spanId !== trace.getSpanContext(fromStream)!.spanId) links.push({ context: header });
  }
  const parent = fromStream ?? fromHeader ?? ROOT_CONTEXT;
  const started = startSpan(
    `process ${s.queue}`,
    SpanKind.CONSUMER,
    parent,
    // Literal keys (the names of `TraceAttributes`): made once per attempt, with or without an SDK.
    {
      'messaging.system': messagingSystem,
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': s.queue,
      'messaging.message.id': backgroundJobId,
      'jobtrail.job.id': s.jobId,
      'jobtrail.worker': workerName,
      'jobtrail.attempt': attempt,
    },
    links,
  );
  const { span } = started;
  const fields = started.logFields;
  // Bound afresh on the engine's logger, not on the delivery's (whose traceId, from the header, would be written twice).
  const attemptLog = lazyChild(log, () => ({ jobId: s.jobId, attempt, messageId: delivery.messageId, worker: workerName, ...fields }));
  return {
    carrier: started.carrier,
    log: attemptLog,
    input: {
      ...(started.carrier !== undefined ? { trace: started.carrier } : {}),
      log: attemptLog,
      // The action runs with the attempt's span active: its own spans are children of it.
      inContext: (f) => runInContext(started.context, f),
    },
    end(outcome) {
      if (span.isRecording()) {
        const tag = outcome?._tag;
        span.setAttribute(A.outcome, outcomeName(outcome));
        if (tag === 'Errored') {
          const view = outcome!.job.state;
          const error = isJobView(view) ? view.lastError : undefined;
          if (error !== undefined) recordSpanError(span, error);
          if (outcome!.retryAt !== undefined) span.setAttribute(A.retryAt, outcome!.retryAt);
        } else if (tag === 'Abandoned') recordSpanError(span, { name: 'Abandoned', message: outcome!.reason });
        else if (tag === 'Unavailable') recordSpanError(span, { name: 'StoreUnavailable', message: outcome!.error.message });
        else if (outcome === undefined) recordSpanError(span, { name: 'Defect', message: 'the attempt threw (see the process log)' });
      }
      span.end();
    },
  };
};

/** `jobtrail.outcome` of an attempt. */
const outcomeName = (outcome: AttemptOutcome | undefined): string => {
  switch (outcome?._tag) {
    case 'Completed':
      return 'completed';
    case 'Cancelled':
      return 'cancelled';
    case 'Errored':
      return outcome.retryAt !== undefined ? 'errored' : 'failed';
    case 'Abandoned':
      return 'abandoned';
    case 'Conflict':
      return 'not_started';
    case 'Unavailable':
      return 'not_started';
    case undefined:
      return 'defect';
  }
};

/**
 * Runs the handling of an enqueue command in a `process <command queue>` CONSUMER span whose parent is the
 * command's `traceparent` header (a producer in any language sets it, docs/tracing.md): the enqueue's `send` span,
 * and so every attempt of the job, join the producer's trace. A malformed header is ignored.
 */
export const traceCommand = async (delivery: Delivery, handle: () => Promise<Disposition>): Promise<Disposition> => {
  const s = startSpan(`process ${delivery.queue}`, SpanKind.CONSUMER, deliveryContext(delivery.headers), {
    [A.system]: messagingSystem,
    [A.operationType]: 'process',
    [A.operationName]: 'process',
    [A.destination]: delivery.queue || enqueueQueueName,
    ...(delivery.messageId !== undefined ? { [A.messageId]: delivery.messageId } : {}),
  });
  try {
    const d = await runInContext(s.context, handle);
    if (d._tag === 'DeadLetter') recordSpanError(s.span, { name: 'CommandRejected', message: d.reason });
    return d;
  } catch (error) {
    recordSpanError(s.span, asErrorInfo(error));
    throw error;
  } finally {
    s.span.end();
  }
};

const asErrorInfo = (error: unknown): { name: string; message: string; stack?: string } =>
  error instanceof Error
    ? { name: error.name, message: error.message, ...(error.stack !== undefined ? { stack: error.stack } : {}) }
    : { name: 'Error', message: String(error) };
