import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as amqp from 'amqplib';

/** The RabbitMQ the tests use (`RABBITMQ_URL`, default the local one). */
export const rabbitUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

const run = promisify(execFile);

/** Runs `rabbitmqctl` with `args`; resolves with its stdout. */
export const rabbitmqctl = async (...args: string[]): Promise<string> => {
  const { stdout } = await run('rabbitmqctl', args, { timeout: 30_000 });
  return stdout;
};

/**
 * Gives `queue` a `delivery-limit` by a policy of its own, as RabbitMQ 4.0 to
 * 4.2 give every quorum queue one of 20 (RabbitMQ 3 applies one only when it
 * is set): a message that comes back to the queue more often is dropped.
 * Resolves with the function that clears the policy.
 */
export const limitDeliveries = async (queue: string, limit: number): Promise<() => Promise<void>> => {
  const policy = `jobtrail-test-${queue}`;
  const pattern = `^${queue.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
  await rabbitmqctl('set_policy', '--apply-to', 'queues', policy, pattern, JSON.stringify({ 'delivery-limit': limit }));
  return async () => void (await rabbitmqctl('clear_policy', policy));
};

/** Deletes queues, ignoring those that do not exist. */
export const deleteQueues = async (names: Iterable<string>): Promise<void> => {
  const model = await amqp.connect(rabbitUrl);
  try {
    for (const name of names) {
      const channel = await model.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteQueue(name).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await model.close();
  }
};

/** Opens a plain amqplib channel for inspecting queues (on `url`, default the tests' RabbitMQ); `close` closes its connection. */
export const openRawChannel = async (url = rabbitUrl): Promise<{ channel: amqp.Channel; close(): Promise<void> }> => {
  const model = await amqp.connect(url);
  const channel = await model.createChannel();
  channel.on('error', () => undefined);
  return {
    channel,
    close: async () => {
      // Closing the channel first (a round trip) makes RabbitMQ apply its acks and nacks before the connection goes.
      await channel.close().catch(() => undefined);
      await model.close();
    },
  };
};

export interface QueueRow {
  readonly name: string;
  readonly type: string;
  readonly arguments: Record<string, unknown>;
}

/** `rabbitmqctl list_queues name type arguments` for the given names. */
export const listQueues = async (names: readonly string[]): Promise<QueueRow[]> => {
  const out = await rabbitmqctl('list_queues', 'name', 'type', 'arguments', '--formatter', 'json', '-q');
  const rows = JSON.parse(out) as Array<{ name: string; type: string; arguments: unknown }>;
  return rows.filter((r) => names.includes(r.name)).map((r) => ({ name: r.name, type: r.type, arguments: argumentsOf(r.arguments) }));
};

// rabbitmqctl's JSON gives arguments as [[key, type, value], …] (or {} when there are none).
const argumentsOf = (raw: unknown): Record<string, unknown> => {
  if (!Array.isArray(raw)) return {};
  return Object.fromEntries(raw.map((entry) => [String((entry as unknown[])[0]), (entry as unknown[])[2]]));
};

/**
 * Closes, server-side (`rabbitmqctl close_connection`, CONNECTION_FORCED),
 * the connections whose client-provided name is `connectionName`, and only
 * those: other tests and other people's processes on the same RabbitMQ keep
 * theirs. Resolves with how many it closed.
 */
export const closeConnectionsNamed = async (connectionName: string): Promise<number> => {
  // The table format, because close_connection wants the pid as `<rabbit@host.N.N.N>`, which the JSON formatter does not print.
  const out = await rabbitmqctl('list_connections', 'pid', 'client_properties', '-q');
  const marker = `{"connection_name",${JSON.stringify(connectionName)}}`;
  const pids = out
    .split('\n')
    .filter((line) => line.includes(marker))
    .map((line) => line.split('\t')[0] as string);
  for (const pid of pids) await rabbitmqctl('close_connection', pid, 'jobtrail test: simulated connection loss');
  return pids.length;
};

/**
 * Takes the first message of `queue` that `matches` out of it (acked), and
 * gives back every other message it looked at (they are shared queues):
 * resolves with its headers, or undefined when none matched.
 */
export const takeMessage = async (
  channel: amqp.Channel,
  queue: string,
  matches: (message: amqp.GetMessage) => boolean,
): Promise<Record<string, unknown> | undefined> => {
  const others: amqp.GetMessage[] = [];
  let found: amqp.GetMessage | undefined;
  try {
    // Held, not given back one by one: a message given back at once would be the next one got.
    for (let i = 0; i < 10_000 && found === undefined; i += 1) {
      const message = await channel.get(queue, { noAck: false });
      if (message === false) break;
      if (matches(message)) found = message;
      else others.push(message);
    }
  } finally {
    if (found !== undefined) channel.ack(found);
    for (const message of others) channel.nack(message, false, true);
    // A round trip on the channel: the acks above are applied once it returns.
    await channel.checkQueue(queue);
  }
  return found === undefined ? undefined : ((found.properties.headers ?? {}) as Record<string, unknown>);
};

/** Whether `queue` exists now (a passive declaration on a channel of its own, since a miss closes the channel). */
export const queueExists = async (queue: string): Promise<boolean> => {
  const model = await amqp.connect(rabbitUrl);
  try {
    const channel = await model.createChannel();
    channel.on('error', () => undefined);
    return await channel.checkQueue(queue).then(
      () => true,
      () => false,
    );
  } finally {
    await model.close();
  }
};

/** How many consumers `queue` of `vhost` has, as RabbitMQ lists them (0 for a queue that does not exist). */
export const consumersOf = async (vhost: string, queue: string): Promise<number> =>
  (await rabbitmqctl('-q', 'list_consumers', '-p', vhost, 'queue_name')).split('\n').filter((line) => line.trim() === queue).length;

/**
 * A virtual host of its own on the tests' RabbitMQ, for a test that asserts
 * on a queue every jobtrail process shares (`jobtrail.enqueue`): another
 * test run on the same RabbitMQ then cannot change what it sees. Resolves
 * with its AMQP URL and the function that deletes it (and all it holds).
 */
export const privateVhost = async (): Promise<{ name: string; url: string; remove(): Promise<void> }> => {
  const vhost = `jobtrail-test-${randomUUID()}`;
  const user = decodeURIComponent(new URL(rabbitUrl).username || 'guest');
  await rabbitmqctl('add_vhost', vhost);
  await rabbitmqctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*');
  const url = new URL(rabbitUrl);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  return { name: vhost, url: url.toString(), remove: async () => void (await rabbitmqctl('delete_vhost', vhost)) };
};
