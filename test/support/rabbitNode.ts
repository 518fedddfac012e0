// A private RabbitMQ node for fault-injection tests, which kill it with
// SIGKILL (no clean shutdown, as an OOM kill or a power cut would leave it)
// and start it again. It is never the machine's own RabbitMQ: each test starts
// a node of its own on this host, with a name of its own
// (jobtrail-test-<random>@localhost), its own AMQP and Erlang distribution
// ports (free ones, below Linux's ephemeral range, on 127.0.0.1 only), its own
// Erlang cookie, and its data, logs and configuration in a temporary folder,
// none of /etc/rabbitmq or /var/lib/rabbitmq. `stopNode` stops it and deletes
// the folder; a watchdog shell does both should the test process die first
// (a SIGKILL from the test runner's timeout, say).
//
// The node runs the installed RabbitMQ's own scripts (rabbitmq-server in the
// foreground, in a session of its own; rabbitmqctl -n <name>) as the user
// running the tests, with RABBITMQ_* variables naming the folder: Debian's
// /usr/sbin wrappers are bypassed, since they run everything as the rabbitmq
// user from /var/lib/rabbitmq (with that user's cookie) and refuse other users.
// Where no RabbitMQ is installed, or the node does not start, startPrivateNode
// rejects with the reason (and the end of the node's output).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const run = promisify(execFile);

export interface RabbitNode {
  /** Its Erlang node name, jobtrail-test-<random>@localhost. */
  readonly name: string;
  /** Its AMQP URL (guest/guest, 127.0.0.1). */
  readonly url: string;
  readonly amqpPort: number;
  readonly distPort: number;
  /** Its temporary folder: data, logs, configuration, cookie. */
  readonly dir: string;
  /** Runs `rabbitmqctl -n <name> …args` against this node; resolves with its stdout. */
  ctl(...args: string[]): Promise<string>;
}

/** A running `rabbitmq-server` (a shell whose child is the node's Erlang VM). */
interface Server {
  readonly child: ChildProcess;
  /** Resolves, saying how, once it has exited (or could not be run). */
  readonly exited: Promise<string>;
  done: boolean;
}

interface NodeState extends RabbitNode {
  readonly sbin: string;
  readonly env: NodeJS.ProcessEnv;
  /** `ctl`, with a signal that ends the command early. */
  ctlUntil(signal: AbortSignal | undefined, ...args: string[]): Promise<string>;
  /** The last `rabbitmq-server` started. */
  server?: Server;
}

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * The folder of RabbitMQ's own rabbitmq-server and rabbitmqctl scripts, or why
 * there is none: /usr/lib/rabbitmq/bin (Debian, Ubuntu, RPMs), else a
 * rabbitmq-server on the PATH or in /usr/sbin that is not Debian's wrapper.
 */
const findScripts = (): string | { error: string } => {
  const dirs = ['/usr/lib/rabbitmq/bin', ...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'].filter(Boolean);
  for (const dir of dirs) {
    const server = join(dir, 'rabbitmq-server');
    if (!executable(server)) continue;
    const real = realpathSync(server);
    if (basename(real) === 'rabbitmq-script-wrapper') continue;
    if (executable(join(dirname(real), 'rabbitmqctl'))) return dirname(real);
  }
  return {
    error:
      'found no rabbitmq-server to start a private RabbitMQ node with (looked in /usr/lib/rabbitmq/bin, on the PATH, in /usr/sbin and /usr/local/sbin; ' +
      "Debian's /usr/sbin wrapper does not count): is RabbitMQ installed? (apt-get install rabbitmq-server)",
  };
};

const portFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });

/**
 * Two free ports between 20000 and 32767: below Linux's ephemeral range
 * (32768–60999), so no outgoing connection takes one while the node is down
 * between a kill and its restart; not 25672, the first node's distribution port.
 */
const freePorts = async (): Promise<[number, number]> => {
  const found: number[] = [];
  for (let i = 0; i < 200 && found.length < 2; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_768);
    if (port === 25_672 || found.includes(port)) continue;
    if (await portFree(port)) found.push(port);
  }
  if (found.length < 2) throw new Error('found no two free TCP ports between 20000 and 32767 on 127.0.0.1');
  return [found[0]!, found[1]!];
};

const portOpen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** The parent of `pid`, where /proc tells. */
const parentOf = (pid: number): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
};

/** Whether `pid` is a live process (a zombie is not). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
};

/** The first lines of `path` that report an error, then its last lines; '' when it cannot be read or is empty. */
const excerpt = (path: string): string => {
  let lines: string[];
  try {
    lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  } catch {
    return '';
  }
  const errors = lines.filter((line) => /\[error\]|error|failed/i.test(line)).slice(0, 10);
  const last = lines.slice(-5).filter((line) => !errors.includes(line));
  return [...errors, ...(last.length > 0 && errors.length > 0 ? ['…'] : []), ...last].join('\n').trim();
};

const serverOut = (node: NodeState) => join(node.dir, 'log', 'server.out');
const nodeLog = (node: NodeState) => join(node.dir, 'log', `${node.name}.log`);

/** What the node printed (or else logged), for an error message. */
const lastWords = (node: NodeState): string => {
  const out = excerpt(serverOut(node));
  if (out !== '') return `it printed:\n${out}`;
  const log = excerpt(nodeLog(node));
  return log !== '' ? `it logged:\n${log}` : 'it printed nothing';
};

/** Starts `rabbitmq-server` in the foreground, in a session of its own (its process group is the watchdog's to kill). */
const launch = (node: NodeState): void => {
  const out = openSync(serverOut(node), 'a');
  const child = spawn(join(node.sbin, 'rabbitmq-server'), [], {
    env: node.env,
    cwd: node.dir,
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  child.unref();
  const server: Server = {
    child,
    done: false,
    exited: new Promise<string>((resolve) => {
      child.once('error', (error) => {
        server.done = true;
        resolve(`could not run ${join(node.sbin, 'rabbitmq-server')}: ${error.message}`);
      });
      child.once('exit', (code, signal) => {
        server.done = true;
        resolve(`rabbitmq-server exited (${signal ?? `code ${code}`})`);
      });
    }),
  };
  node.server = server;
  if (child.pid !== undefined) writeFileSync(join(node.dir, 'server.pgid'), String(child.pid));
};

/**
 * Whether the server has exited within `ms`. It polls on a timer, which also
 * keeps this process up meanwhile: the child is unref'd, and waiting on its
 * exit event alone would let the process end.
 */
const serverGone = async (server: Server, ms: number): Promise<boolean> => {
  const deadline = Date.now() + ms;
  while (!server.done) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
};

/**
 * A shell that waits for this process to end; if the node's folder is still
 * there then (the node was not stopped), it kills the node and deletes it.
 */
const watch = (node: NodeState): void => {
  const script = [
    'while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done',
    '[ -d "$2" ] || exit 0',
    'group=$(cat "$2/server.pgid" 2>/dev/null); pid=$(cat "$2/rabbitmq.pid" 2>/dev/null)',
    'case "$group" in ""|*[!0-9]*|0|1) ;; *) kill -KILL -"$group" 2>/dev/null ;; esac',
    'case "$pid" in ""|*[!0-9]*|0|1) ;; *) kill -KILL "$pid" 2>/dev/null ;; esac',
    'sleep 1',
    'rm -rf "$2"',
  ].join('\n');
  spawn('/bin/sh', ['-c', script, 'jobtrail-rabbitmq-watchdog', String(process.pid), node.dir], {
    detached: true,
    stdio: 'ignore',
  }).unref();
};

/** The OS pid of the node's Erlang VM. */
const nodePid = async (node: RabbitNode): Promise<number> => {
  const stdout = await node.ctl('eval', 'os:getpid().');
  const pid = Number(/"(\d+)"/.exec(stdout)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`rabbitmqctl eval 'os:getpid().' printed ${JSON.stringify(stdout)}, not a pid`);
  return pid;
};

/** Starts the node and resolves once it accepts AMQP connections; rejects at once if it exits meanwhile. */
export const startNode = async (rabbit: RabbitNode, timeoutMs = 120_000): Promise<void> => {
  const node = rabbit as NodeState;
  const deadline = Date.now() + timeoutMs;
  launch(node);
  const exited = node.server!.exited.then(
    (why) => new Error(`the private RabbitMQ node ${node.name} did not start: ${why}; ${lastWords(node)}`),
  );
  // await_startup fails at once while the node is still registering, before it waits: try again until the deadline.
  for (;;) {
    // Ended when the node exits first: a rabbitmqctl still running once the node's folder is gone would crash.
    const abort = new AbortController();
    // Its own timeout under ctl()'s limit on the command.
    const error = await Promise.race([
      node.ctlUntil(abort.signal, '-q', 'await_startup', '--timeout', '25').then(
        () => undefined,
        (e: Error) => e,
      ),
      exited.then((e) => Promise.reject(e)),
    ]).finally(() => abort.abort());
    if (error === undefined && (await portOpen(node.amqpPort))) return;
    if (Date.now() > deadline) {
      throw new Error(
        `the private RabbitMQ node ${node.name} did not start within ${timeoutMs} ms: ${error?.message.split('\n')[0] ?? `port ${node.amqpPort} closed`}; ${lastWords(node)}`,
      );
    }
    await sleep(250);
  }
};

/** Kills the node's Erlang VM with SIGKILL and resolves once it is gone. */
const killNode = async (node: NodeState): Promise<void> => {
  const pid = await nodePid(node);
  // Only ever the VM of the rabbitmq-server this process started.
  const parent = parentOf(pid);
  if (parent !== undefined && parent !== node.server?.child.pid) {
    throw new Error(
      `not killing process ${pid}: its parent is ${parent}, not the rabbitmq-server (${node.server?.child.pid}) started for ${node.name}`,
    );
  }
  process.kill(pid, 'SIGKILL');
  // Not left for the watchdog to kill, should the pid be reused.
  rmSync(join(node.dir, 'rabbitmq.pid'), { force: true });
  while (alive(pid)) await sleep(20);
  // rabbitmq-server, the VM's parent, ends with it.
  if (node.server !== undefined && !(await serverGone(node.server, 10_000)))
    throw new Error(`rabbitmq-server did not exit after its node ${node.name} was killed`);
};

/** Kills the node with SIGKILL, then starts it again; resolves once it accepts AMQP connections. */
export const crashNode = async (node: RabbitNode): Promise<void> => {
  await killNode(node as NodeState);
  // Let epmd see the node go before a new one registers under its name.
  await sleep(500);
  await startNode(node);
};

/** Stops the node (`rabbitmqctl stop`, else SIGKILL to its process group) and deletes its folder. */
export const stopNode = async (rabbit: RabbitNode): Promise<void> => {
  const node = rabbit as NodeState;
  try {
    const server = node.server;
    if (server !== undefined && !server.done) {
      const stopped = await node.ctl('stop').then(
        () => true,
        () => false,
      );
      if (!(stopped && (await serverGone(server, 15_000))) && server.child.pid !== undefined) {
        try {
          process.kill(-server.child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await serverGone(server, 10_000);
      }
    }
  } finally {
    rmSync(node.dir, { recursive: true, force: true });
  }
};

/**
 * Starts a private RabbitMQ node (see the top of this file) and resolves once
 * it accepts AMQP connections; rejects with the reason when it cannot, having
 * cleaned up. `stopNode` stops it and deletes its folder.
 */
export const startPrivateNode = async (timeoutMs = 120_000): Promise<RabbitNode> => {
  const sbin = findScripts();
  if (typeof sbin !== 'string') throw new Error(sbin.error);
  const [amqpPort, distPort] = await freePorts();
  const name = `jobtrail-test-${randomUUID().slice(0, 8)}@localhost`;
  const dir = mkdtempSync(join(tmpdir(), 'jobtrail-rabbitmq-'));
  for (const sub of ['home', 'log', 'mnesia', 'conf.d']) mkdirSync(join(dir, sub));
  // The node's own cookie, in the HOME that the node and rabbitmqctl both get (Erlang wants it readable by its owner only).
  writeFileSync(join(dir, 'home', '.erlang.cookie'), randomBytes(24).toString('hex').toUpperCase(), { mode: 0o400 });
  writeFileSync(join(dir, 'rabbitmq.conf'), `listeners.tcp.1 = 127.0.0.1:${amqpPort}\n`);
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  // Empty: not /etc/rabbitmq/rabbitmq-env.conf, which names the machine's node.
  writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
  // Nothing of the caller's RabbitMQ settings (RABBITMQ_NODENAME, RABBITMQ_NODE_PORT, …) reaches this node.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('RABBITMQ_')));
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    HOME: join(dir, 'home'),
    // Should this node be the one to start epmd (4369, shared by every node on the host): on the loopback only.
    ERL_EPMD_ADDRESS: process.env.ERL_EPMD_ADDRESS ?? '127.0.0.1',
    RABBITMQ_NODENAME: name,
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_CONFIG_FILES: join(dir, 'conf.d'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
  const node: NodeState = {
    name,
    url: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
    amqpPort,
    distPort,
    dir,
    sbin,
    env,
    ctlUntil: async (signal: AbortSignal | undefined, ...args: string[]) => {
      // In the node's folder, and with no erl_crash.dump should its Erlang VM fail.
      const { stdout } = await run(join(sbin, 'rabbitmqctl'), ['-n', name, ...args], {
        env: { ...env, ERL_CRASH_DUMP_SECONDS: '0' },
        cwd: dir,
        timeout: 60_000,
        signal,
      });
      return stdout;
    },
    ctl: (...args: string[]) => node.ctlUntil(undefined, ...args),
  };
  watch(node);
  try {
    await startNode(node, timeoutMs);
  } catch (error) {
    await stopNode(node).catch(() => undefined);
    throw error;
  }
  return node;
};
