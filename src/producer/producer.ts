import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { newJobId } from '../conductor/newJobId.js';
import type { Broker, Delivery, OutgoingMessage, ReplyChannel } from '../broker/broker.js';
import { enqueueQueueName } from '../broker/workMessage.js';
import { brokerFor } from './brokerFor.js';
import type { PayloadArg, WorkerNameArg } from './types.js';
import { brandClass, ErrorCodes, JobtrailError } from '../errors/index.js';
import { TraceAttributes, traceSend } from '../tracing/index.js';

/** Options of a producer's enqueue: the optional fields of the wire command (docs/architecture.md#the-wire-contract). */
export interface ProducerEnqueueOptions {
  /** The dedupe key. Default: a new time-ordered UUID, also sent as the AMQP `messageId`, so a retried publish makes one job. */
  readonly jobId?: string;
  readonly queue?: string;
  readonly maxAttempts?: number;
  /** A `Date` or ISO-8601 text with a time zone. */
  readonly runAt?: Date | string;
  readonly priority?: number;
  readonly enqueuedBy?: string;
  /** Wait for the conductor's answer and return it (or throw its rejection). Default: false (return once the broker confirmed the publish). */
  readonly awaitReply?: boolean;
  /** How long to wait for the answer. Default: the producer's `replyTimeoutMs`. */
  readonly replyTimeoutMs?: number;
}

export interface ProducerOptions {
  /** A broker URL (`amqp://…`, `memory`) or an adapter. */
  readonly broker: string | Broker;
  /** Default: 30 000 ms. */
  readonly replyTimeoutMs?: number;
  /** Where commands go. Default: `jobtrail.enqueue` (the wire contract's). */
  readonly commandQueue?: string;
}

/** The conductor refused the command; `reason` is its answer. Nothing was recorded. */
export class EnqueueCommandRejectedError extends JobtrailError {
  static {
    brandClass(this, 'EnqueueCommandRejectedError');
  }
  constructor(readonly reason: string) {
    super(ErrorCodes.CommandRejected, `the enqueue command was rejected: ${reason}`);
    this.name = 'EnqueueCommandRejectedError';
  }
}

/** The broker did not take the command, or no answer came in time. */
export class ProducerError extends JobtrailError {
  static {
    brandClass(this, 'ProducerError');
  }
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.ProducerFailed, message, options);
    this.name = 'ProducerError';
  }
}

const Reply = t.union([t.type({ ok: t.literal(true), jobId: t.string }), t.type({ ok: t.literal(false), error: t.string })]);

/**
 * A producer. `W` types it by the workers without loading them: a workers module's type
 * (`createProducer<typeof import('./workers.js')>(…)`), an array of workers, or a worker type; then the worker
 * name must be one of theirs and the payload its codec's type. Without `W`: any name, any payload.
 */
export interface Producer<W = unknown> {
  /**
   * Publishes an enqueue command to `jobtrail.enqueue` with a publisher
   * confirm. Returns the job id (and, with `awaitReply`, whether the conductor
   * created the job); throws `EnqueueCommandRejectedError` when the conductor
   * refuses it.
   */
  enqueue<N extends WorkerNameArg<W>>(
    workerName: N,
    payload: PayloadArg<W, N>,
    options?: ProducerEnqueueOptions,
  ): Promise<{ readonly jobId: string; readonly created?: boolean }>;
  close(): Promise<void>;
}

/**
 * A client for services that only enqueue: no workers, no store. It speaks
 * the same wire contract as a producer in any other language.
 */
export const createProducer = async <W = unknown>(options: ProducerOptions): Promise<Producer<W>> => {
  const owns = typeof options.broker === 'string';
  const broker = typeof options.broker === 'string' ? await brokerFor(options.broker) : options.broker;
  const pending = new Map<string, (d: Delivery) => void>();
  const commandQueue = options.commandQueue ?? enqueueQueueName;
  let replies: Promise<ReplyChannel> | undefined;
  const replyChannel = () =>
    (replies ??= broker.openReplyChannel((d) => {
      if (d.correlationId !== undefined) pending.get(d.correlationId)?.(d);
    }));

  // A `send jobtrail.enqueue` span; the command carries its context as header `traceparent` (docs/tracing.md).
  const enqueue = (
    workerName: string,
    payload: unknown,
    o: ProducerEnqueueOptions = {},
  ): Promise<{ readonly jobId: string; readonly created?: boolean }> => {
    const jobId = o.jobId ?? newJobId();
    const attributes = { [TraceAttributes.messageId]: jobId, [TraceAttributes.jobId]: jobId, [TraceAttributes.worker]: String(workerName) };
    return traceSend(commandQueue, attributes, (headers) => send(workerName, payload, { ...o, jobId }, headers));
  };

  const send = async (
    workerName: string,
    payload: unknown,
    o: ProducerEnqueueOptions,
    headers: Record<string, string> | undefined,
  ): Promise<{ readonly jobId: string; readonly created?: boolean }> => {
    const jobId = o.jobId ?? newJobId();
    const runAt = o.runAt instanceof Date ? o.runAt.toISOString() : o.runAt;
    const command = {
      workerName,
      payload,
      jobId,
      ...(o.queue !== undefined ? { queue: o.queue } : {}),
      ...(o.maxAttempts !== undefined ? { maxAttempts: o.maxAttempts } : {}),
      ...(runAt !== undefined ? { runAt } : {}),
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...(o.enqueuedBy !== undefined ? { enqueuedBy: o.enqueuedBy } : {}),
    };
    const body = JSON.stringify(command);
    if (body === undefined) throw new ProducerError('the payload is not JSON-serialisable');
    const message: OutgoingMessage = {
      body: Buffer.from(body),
      messageId: jobId,
      contentType: 'application/json',
      ...(headers !== undefined ? { headers } : {}),
    };
    if (!o.awaitReply) {
      const r = await broker.publish(commandQueue, message)();
      if (E.isLeft(r)) throw new ProducerError(`the enqueue command for job "${jobId}" was not confirmed by the broker: ${r.left.message}`);
      return { jobId };
    }
    const channel = await replyChannel();
    const correlationId = randomUUID();
    const timeoutMs = o.replyTimeoutMs ?? options.replyTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<Delivery>((resolve, reject) => {
      pending.set(correlationId, resolve);
      timer = setTimeout(
        () =>
          reject(
            new ProducerError(
              `no answer to the enqueue command for job "${jobId}" within ${timeoutMs} ms (is a jobtrail run process consuming ${commandQueue}?)`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      const r = await channel.publish(commandQueue, { ...message, correlationId })();
      if (E.isLeft(r)) throw new ProducerError(`the enqueue command for job "${jobId}" was not confirmed by the broker: ${r.left.message}`);
      const d = await answered;
      let parsed: unknown;
      try {
        parsed = JSON.parse(d.body.toString('utf8'));
      } catch {
        throw new ProducerError(`the conductor's answer is not JSON: ${d.body.subarray(0, 200).toString('utf8')}`);
      }
      const reply = Reply.decode(parsed);
      if (E.isLeft(reply))
        throw new ProducerError(`the conductor's answer has an unexpected shape: ${d.body.subarray(0, 200).toString('utf8')}`);
      if (!reply.right.ok) throw new EnqueueCommandRejectedError(reply.right.error);
      const created = (parsed as { created?: unknown }).created;
      return { jobId: reply.right.jobId, ...(typeof created === 'boolean' ? { created } : {}) };
    } finally {
      clearTimeout(timer);
      pending.delete(correlationId);
    }
  };

  return {
    enqueue: enqueue as Producer<W>['enqueue'],
    close: async () => {
      if (replies) await (await replies).stop();
      if (owns) await broker.close();
    },
  };
};
