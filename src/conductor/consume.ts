import { enqueueQueueName, rejectedQueueName, workQueueName, type Consumer, type Delivery, type Disposition } from '../broker/index.js';
import type { ConductorDeps } from './dispatch.js';
import { makeEnqueueCommandHandler } from './enqueueCommands.js';

export interface ConsumeOptions {
  /** Also consume the wire contract's enqueue commands. */
  readonly acceptCommands: boolean;
  /** Where the commands come from; refused ones go to `<commandQueue>.rejected`. Default: `jobtrail.enqueue`. */
  readonly commandQueue?: string;
  /** Largest command accepted, in bytes. */
  readonly maxCommandBytes?: number;
  /** Consume the work queues here. Default: true; the engine leaves them to its queue consumers (src/queues, docs/queues.md). */
  readonly workQueues?: boolean;
}

/** Consumes one work queue with the prefetch of its workers (see `consumeQueues`). */
export const consumeWorkQueue = (
  deps: Pick<ConductorDeps, 'registry' | 'broker'>,
  handler: (delivery: Delivery) => Promise<Disposition>,
  queue: string,
): Promise<Consumer> => {
  const prefetch = deps.registry.workers.filter((w) => w.queue === queue).reduce((sum, w) => sum + 2 * w.concurrency, 0);
  return deps.broker.consume(workQueueName(queue), handler, { prefetch: Math.max(1, prefetch) });
};

/**
 * Consumes the work queue of each named queue of the registered workers, and
 * the enqueue commands when asked. Prefetch: twice the sum of the
 * concurrencies of the workers on the queue. Each worker runs at most its
 * `concurrency` attempts (its slots, `RunningAttempts`), and at most as many
 * more deliveries of it wait for a slot (more are deferred), so a worker at
 * its limit never takes the window of another: each always has room for all
 * of its own (docs/architecture.md#concurrency).
 */
export const consumeQueues = async (
  deps: ConductorDeps,
  handler: (delivery: Delivery) => Promise<Disposition>,
  options: ConsumeOptions,
): Promise<Consumer[]> => {
  const { registry, broker } = deps;
  const consumers: Consumer[] = [];
  if (options.workQueues !== false) for (const queue of registry.queues) consumers.push(await consumeWorkQueue(deps, handler, queue));
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
