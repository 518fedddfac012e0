import * as amqp from 'amqplib';
import { serviceUrls } from '../support/services.js';
import { SystemNames, type BenchJob, type SystemDefinition, type SystemUnderTest } from '../support/system.js';

const queueOf = (runId: string) => `bench-raw-${runId}`;

/**
 * The ceiling: amqplib alone, no job engine. Persistent messages published on
 * a confirm channel to a quorum queue (the kind jobtrail's work queues are),
 * consumed with prefetch = concurrency and acked one by one.
 */
const open = async ({ runId, concurrency }: { runId: string; concurrency: number }): Promise<SystemUnderTest> => {
  const queue = queueOf(runId);
  // TCP_NODELAY: publishes and acks interleave on one connection; with Nagle's algorithm a small
  // write waits for the peer's delayed ACK (~40 ms). The ceiling is measured without that stall.
  const connection = await amqp.connect(serviceUrls.rabbitmq, { noDelay: process.env['BENCH_RAW_NODELAY'] !== '0' });
  const publisher = await connection.createConfirmChannel();
  await publisher.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  let consumer: amqp.Channel | undefined;
  const publish = (job: BenchJob): boolean =>
    publisher.sendToQueue(queue, Buffer.from(JSON.stringify(job)), { persistent: true, contentType: 'application/json' });
  return {
    enqueueBatch: async (jobs) => {
      for (const job of jobs) {
        if (!publish(job)) await new Promise((resolve) => publisher.once('drain', resolve));
      }
      await publisher.waitForConfirms();
    },
    enqueueOne: (job) =>
      new Promise<void>((resolve, reject) => {
        publisher.sendToQueue(
          queue,
          Buffer.from(JSON.stringify(job)),
          { persistent: true, contentType: 'application/json' },
          (err: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()),
        );
      }),
    startWorker: async (hooks) => {
      const channel = await connection.createChannel();
      consumer = channel;
      await channel.prefetch(concurrency);
      await channel.consume(
        queue,
        (message) => {
          if (message === null) return;
          hooks.onStart(JSON.parse(message.content.toString('utf8')) as BenchJob);
          channel.ack(message);
          hooks.onCompleted();
        },
        { noAck: false },
      );
    },
    close: async () => {
      await consumer?.close().catch(() => undefined);
      await publisher.deleteQueue(queue).catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
};

export const rawRabbit: SystemDefinition = {
  name: SystemNames.rawRabbit,
  label: 'raw RabbitMQ',
  needs: ['rabbitmq'],
  durability: { class: 'synced', how: 'quorum queue, persistent messages, publisher confirms (fsynced before the confirm)' },
  open,
  cleanup: async (runId) => {
    const connection = await amqp.connect(serviceUrls.rabbitmq);
    try {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteQueue(queueOf(runId)).catch(() => undefined);
    } finally {
      await connection.close().catch(() => undefined);
    }
  },
};
