// Crashes of the local RabbitMQ node, for fault-injection tests: SIGKILL to its
// Erlang VM (no clean shutdown, as an OOM kill or a power cut would leave it),
// then `rabbitmq-server -detached` and `rabbitmqctl await_startup`, the way CI
// starts it (.ci/run). Only when asked (JOBTRAIL_TEST_KILL_RABBITMQ=1, which
// .ci/run sets: a SIGKILL can leave a node's classic queues unrecoverable, so
// no test does it to somebody's RabbitMQ unasked) and where this process can do
// both; a RabbitMQ in a container (docker compose) cannot be crashed from here.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { rabbitmqctl, rabbitUrl } from './rabbit.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The OS pid of the node `rabbitmqctl` talks to. */
const nodePid = async (): Promise<number> => {
  const stdout = await rabbitmqctl('eval', 'os:getpid().');
  const pid = Number(/"(\d+)"/.exec(stdout)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`rabbitmqctl eval 'os:getpid().' printed ${JSON.stringify(stdout)}, not a pid`);
  return pid;
};

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const onPath = (command: string): boolean =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });

/** The AMQP port of the tests' RabbitMQ. */
const amqpPort = Number(new URL(rabbitUrl).port || 5672);

const portOpen = (): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(amqpPort, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/**
 * Why the node cannot be crashed and restarted from this process, or
 * `undefined` when it can: it was asked for, the tests' RabbitMQ is on this
 * host, `rabbitmqctl` reaches it, this process may signal it, and
 * `rabbitmq-server` is installed.
 */
export const whyNodeCannotCrash = async (): Promise<string | undefined> => {
  if (process.env.JOBTRAIL_TEST_KILL_RABBITMQ !== '1') return 'set JOBTRAIL_TEST_KILL_RABBITMQ=1 to let the tests kill the local RabbitMQ node';
  const host = new URL(rabbitUrl).hostname;
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) return `RabbitMQ is not on this host (${host})`;
  let pid: number;
  try {
    pid = await nodePid();
  } catch (error) {
    return `rabbitmqctl cannot reach the node (${(error as Error).message.split('\n')[0]})`;
  }
  if (!alive(pid)) return `the node's process ${pid} is not one this process may signal (another user's, or in a container)`;
  if (!onPath('rabbitmq-server')) return 'rabbitmq-server is not on the PATH, so the node could not be started again';
  return undefined;
};

/** Starts the node (`rabbitmq-server -detached`) and resolves once it accepts AMQP connections. */
export const startNode = async (timeoutMs = 120_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  await new Promise<void>((resolve, reject) => {
    const child = spawn('rabbitmq-server', ['-detached'], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', () => resolve());
  });
  // await_startup fails at once while the node is still registering, before it waits: try again until the deadline.
  for (;;) {
    // Its own timeout under rabbitmqctl()'s 30 s limit on the command.
    const error = await rabbitmqctl('-q', 'await_startup', '--timeout', '25').then(
      () => undefined,
      (e: Error) => e,
    );
    if (error === undefined && (await portOpen())) return;
    if (Date.now() > deadline) {
      throw new Error(`RabbitMQ did not start within ${timeoutMs} ms: ${error?.message.split('\n')[0] ?? `port ${amqpPort} closed`}`);
    }
    await sleep(250);
  }
};

/** Kills the node with SIGKILL and resolves once its process is gone. */
const killNode = async (): Promise<void> => {
  const pid = await nodePid();
  process.kill(pid, 'SIGKILL');
  while (alive(pid)) await sleep(20);
};

/** Kills the node with SIGKILL, then starts it again; resolves once it accepts AMQP connections. */
export const crashNode = async (): Promise<void> => {
  await killNode();
  // Let epmd see the node go before a new one registers under its name.
  await sleep(500);
  await startNode();
};

/** Whether the node answers AMQP connections now. */
export const nodeUp = (): Promise<boolean> => portOpen();
