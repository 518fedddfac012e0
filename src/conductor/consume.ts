import { enqueueQueueName, rejectedQueueName, workQueueName, type Consumer, type Delivery, type Disposition } from '../broker/index.js';
import type { JobStatus, JobView } from '../job/index.js';
import type { ProjectionQueries } from '../projections/index.js';
import type { ConductorDeps } from './dispatch.js';
import { makeEnqueueCommandHandler } from './enqueueCommands.js';

export interface ConsumeOptions {
  /** Also consume the wire contract's enqueue commands. */
  readonly acceptCommands: boolean;
  /** Where the commands come from; refused ones go to `<commandQueue>.rejected`. Default: `jobtrail.enqueue`. */
  readonly commandQueue?: string;
  /** Largest command accepted, in bytes. */
  readonly maxCommandBytes?: number;
}

/**
 * Consumes the work queue of each named queue of the registered workers
 * (prefetch: the largest concurrency of the workers on it), and the enqueue
 * commands when asked.
 */
export const consumeQueues = async (
  deps: ConductorDeps,
  handler: (delivery: Delivery) => Promise<Disposition>,
  options: ConsumeOptions,
): Promise<Consumer[]> => {
  const { registry, broker } = deps;
  const consumers: Consumer[] = [];
  for (const queue of registry.queues) {
    const prefetch = Math.max(...registry.workers.filter((w) => w.queue === queue).map((w) => w.concurrency));
    consumers.push(await broker.consume(workQueueName(queue), handler, { prefetch }));
  }
  if (options.acceptCommands) {
    const commands = makeEnqueueCommandHandler(deps, {
      ...(options.maxCommandBytes !== undefined ? { maxBytes: options.maxCommandBytes } : {}),
    });
    const commandQueue = options.commandQueue ?? enqueueQueueName;
    const rejectedQueue = commandQueue === enqueueQueueName ? rejectedQueueName : `${commandQueue}.rejected`;
    consumers.push(await broker.consume(commandQueue, commands, { prefetch: 50, deadLetterQueue: rejectedQueue }));
  }
  return consumers;
};

export interface ListJobsFilter {
  readonly status?: JobStatus;
  readonly workerName?: string;
  /** Default: 100. */
  readonly limit?: number;
}

/** Job views from the `job-view` projection, newest enqueued first, page after page up to `limit`. */
export const listJobs = async (queries: ProjectionQueries, filter: ListJobsFilter = {}): Promise<readonly JobView[]> => {
  const wanted = filter.limit ?? 100;
  const out: JobView[] = [];
  let after: string | undefined;
  do {
    const page = await queries.listJobViews({
      limit: Math.min(1000, wanted - out.length),
      ...(filter.status !== undefined ? { status: filter.status } : {}),
      ...(filter.workerName !== undefined ? { workerName: filter.workerName } : {}),
      ...(after !== undefined ? { after } : {}),
    });
    out.push(...page.jobs);
    after = page.next;
  } while (after !== undefined && out.length < wanted);
  return out;
};
