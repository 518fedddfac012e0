// Where `jobtrail enqueue` sends jobs (issue 23): the engine (with --workers: checked here, recorded in the
// store; batches through enqueueMany), or, in RabbitMQ mode without workers, a producer that sends wire-contract
// enqueue commands to the `jobtrail run` processes, which check and record them.
import type { EnqueueItem, EnqueueOptions } from '../../conductor/index.js';
import type { Engine } from '../../engine.js';
import { ErrorCodes, isJobtrailError } from '../../errors/index.js';
import type { Producer } from '../../producer/index.js';
import type { JobLine } from './jobLines.js';

/** What became of one job. */
export type Outcome =
  | { readonly line: number; readonly result: 'created' | 'duplicate'; readonly jobId: string; readonly warnings?: readonly string[] }
  /** Sent to RabbitMQ without waiting for the answer (--no-wait). */
  | { readonly line: number; readonly result: 'sent'; readonly jobId: string }
  /** Sent, but no `jobtrail run` process answered in time: the command waits in the queue, and makes the job when one takes it. */
  | { readonly line: number; readonly result: 'unanswered'; readonly jobId: string; readonly reason: string }
  /** Refused (nothing recorded), or not sent; `reason` says which and why. */
  | { readonly line: number; readonly result: 'rejected'; readonly jobId?: string; readonly reason: string };

export interface Sink {
  /** How many jobs `send` takes at once. */
  readonly batchSize: number;
  /** Sends the jobs; one outcome per job, in order. Throws only for what stops everything (the store or broker gone). */
  send(jobs: readonly JobLine[]): Promise<readonly Outcome[]>;
}

const optionsOf = (j: JobLine, by: string): EnqueueOptions => ({
  ...(j.jobId !== undefined ? { jobId: j.jobId } : {}),
  ...(j.queue !== undefined ? { queue: j.queue } : {}),
  ...(j.runAt !== undefined ? { runAt: j.runAt } : {}),
  ...(j.priority !== undefined ? { priority: j.priority } : {}),
  ...(j.maxAttempts !== undefined ? { maxAttempts: j.maxAttempts } : {}),
  enqueuedBy: by,
});

/**
 * The engine: a batch goes in one `enqueueMany` (shared commits). `enqueueMany` refuses a whole batch for one
 * invalid job, so a refused batch is sent again job by job, and each refusal is the reason of its own line.
 */
export const engineSink = (engine: Engine, by: string): Sink => {
  const one = async (j: JobLine): Promise<Outcome> => {
    try {
      const r = await engine.enqueue(j.worker, j.payload, optionsOf(j, by));
      return { line: j.line, result: r.created ? 'created' : 'duplicate', jobId: r.jobId, ...(r.warnings ? { warnings: r.warnings } : {}) };
    } catch (error) {
      if (isJobtrailError(error, ErrorCodes.EnqueueRejected))
        return { line: j.line, result: 'rejected', ...(j.jobId !== undefined ? { jobId: j.jobId } : {}), reason: (error as Error).message };
      throw error;
    }
  };
  return {
    batchSize: 500,
    send: async (jobs) => {
      const items: EnqueueItem[] = jobs.map((j) => ({ workerName: j.worker, payload: j.payload, options: optionsOf(j, by) }));
      try {
        const done = await engine.enqueueMany(items);
        return done.map((r, i) => ({
          line: jobs[i]!.line,
          result: r.created ? 'created' : 'duplicate',
          jobId: r.jobId,
          ...(r.warnings ? { warnings: r.warnings } : {}),
        }));
      } catch (error) {
        if (isJobtrailError(error, ErrorCodes.EnqueuePartlyFailed)) {
          // The store or broker failed part way: some jobs are recorded, the others say why not.
          const outcomes = (error as unknown as { outcomes: readonly (Error | { jobId: string; created: boolean })[] }).outcomes;
          return outcomes.map((o, i): Outcome => {
            const line = jobs[i]!.line;
            return o instanceof Error
              ? { line, result: 'rejected', reason: `not enqueued: ${o.message}` }
              : { line, result: o.created ? 'created' : 'duplicate', jobId: o.jobId };
          });
        }
        if (!isJobtrailError(error, ErrorCodes.EnqueueRejected)) throw error;
        const out: Outcome[] = [];
        for (const j of jobs) out.push(await one(j));
        return out;
      }
    },
  };
};

/** The producer: each job is a wire-contract command; with `wait`, the answer of the `jobtrail run` process that took it. */
export const producerSink = (
  producer: Producer,
  options: { readonly by: string; readonly wait: boolean; readonly replyTimeoutMs: number },
): Sink => ({
  // Commands in flight at once: each waits for its answer, so they go together.
  batchSize: 200,
  send: (jobs) =>
    Promise.all(
      jobs.map(async (j): Promise<Outcome> => {
        try {
          const r = await producer.enqueue(j.worker, j.payload, {
            ...optionsOf(j, options.by),
            awaitReply: options.wait,
            replyTimeoutMs: options.replyTimeoutMs,
          });
          if (!options.wait) return { line: j.line, result: 'sent', jobId: r.jobId };
          return { line: j.line, result: r.created === false ? 'duplicate' : 'created', jobId: r.jobId };
        } catch (error) {
          const message = (error as Error).message;
          if (isJobtrailError(error, ErrorCodes.CommandRejected))
            return { line: j.line, result: 'rejected', ...(j.jobId !== undefined ? { jobId: j.jobId } : {}), reason: message };
          if (isJobtrailError(error, ErrorCodes.ProducerFailed) && /no answer/.test(message)) {
            const jobId = /job "([^"]+)"/.exec(message)?.[1] ?? j.jobId ?? '?';
            return { line: j.line, result: 'unanswered', jobId, reason: message };
          }
          if (isJobtrailError(error, ErrorCodes.ProducerFailed))
            return { line: j.line, result: 'rejected', reason: `not sent: ${message}` };
          throw error;
        }
      }),
    ),
});
