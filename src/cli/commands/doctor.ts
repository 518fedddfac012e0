import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { redactUrl } from '../../log/index.js';
import type { ProjectionHealth } from '../../projections/esdb.js';
import { brokerOption, parsePositiveInt, storeOption, workersOption, type Common, type Context } from '../context.js';
import { parseSqliteUrl } from '../../backends/index.js';
import type { ProjectConfig } from '../../config/index.js';
import { describeDurability, storeDurability } from '../durability.js';

/**
 * `jobtrail doctor`: whether the store, its projections and the broker work,
 * on one screen, with the fix for what does not. Exits 0 when nothing
 * failed (warnings included), 1 otherwise. Every check is bounded by
 * `--timeout`, so an unreachable server is reported, not waited for.
 */

/** `ok`: works; `warn`: works, but look; `fail`: does not work (exit 1); `info`: a fact. */
type Level = 'ok' | 'warn' | 'fail' | 'info';
interface Finding {
  readonly level: Level;
  readonly text: string;
  /** What to do about it, for `warn` and `fail`. */
  readonly fix?: string;
}
interface Section {
  readonly title: string;
  readonly target: string;
  readonly findings: Finding[];
}

const ok = (text: string): Finding => ({ level: 'ok', text });
const info = (text: string): Finding => ({ level: 'info', text });
const warn = (text: string, fix?: string): Finding => ({ level: 'warn', text, ...(fix ? { fix } : {}) });
const fail = (text: string, fix?: string): Finding => ({ level: 'fail', text, ...(fix ? { fix } : {}) });

class TimedOut extends Error {
  constructor(what: string, ms: number) {
    super(`no answer from ${what} within ${ms} ms`);
    this.name = 'TimedOut';
  }
}

/** `p`, or a `TimedOut` rejection after `ms` (the operation is left to the client's own deadline). */
const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimedOut(what, ms)), ms);
      timer.unref();
    }),
  ]);
};

const messageOf = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error))
    .split('\n')[0]!
    .replace(/\s*Resolution note:\s*$/, '')
    .slice(0, 300);
const typeOf = (error: unknown): string | undefined => (error as { type?: unknown } | undefined)?.type as string | undefined;

const composeUp = 'docker compose up -d --wait (docker-compose.yml; docs/eventstoredb.md)';

// ---------------------------------------------------------------- EventStoreDB

/** The findings about one projection, from `projectionHealth` (src/projections/esdbInstall.ts). */
const judgeProjection = (p: ProjectionHealth): Finding => {
  const system = p.name.startsWith('$');
  if (!p.exists)
    return system
      ? fail(`${p.name}: does not exist`, 'start the server with projections on: RunProjections=All (EVENTSTORE_RUN_PROJECTIONS=All)')
      : fail(`${p.name}: not installed`, 'npx jobtrail projections install');
  const where = p.position ? `, at ${p.position}` : '';
  const lag = p.lag !== undefined ? `, ${p.lag} event${p.lag === 1 ? '' : 's'} behind` : '';
  const facts = `${p.status}${where}${lag}`;
  if (p.faulted)
    return fail(
      `${p.name}: ${p.status}: ${p.stateReason ?? '(no reason given)'}`,
      system
        ? `reset it in the server's UI (Projections → ${p.name})`
        : `fix the cause, then npx jobtrail projections install --reset (it rebuilds ${p.name})`,
    );
  if (p.running) return ok(`${p.name}: ${facts}`);
  if (/stopped|aborted/i.test(p.status))
    return fail(
      `${p.name}: ${facts}`,
      `enable it: npx jobtrail projections install (or the server's UI: Projections → ${p.name} → Start)` +
        (system ? "; jobtrail's projections read $ce-job, which only it writes" : ''),
    );
  return warn(`${p.name}: ${facts} (starting?)`, 'run jobtrail doctor again in a few seconds');
};

/** What the version the server reports means for jobtrail. */
const judgeVersion = (version: string | undefined): Finding => {
  const m = version === undefined ? null : /^(\d+)\.(\d+)/.exec(version);
  if (!m) return info('server version: not reported');
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major < 22 || (major === 22 && minor < 6))
    return fail(
      `server version ${version}: not supported (its stream reads carry no positions)`,
      'upgrade to EventStoreDB 24.10 LTS or KurrentDB 25',
    );
  if (major < 23 || (major === 23 && minor < 10))
    return warn(`server version ${version}: not tested (supported: 23.10, 24.10, KurrentDB 25)`);
  return ok(`server version ${version}`);
};

/** The fix for a store that cannot be reached, from the URL and the error. */
const unreachableFix = (url: string, error: unknown): string => {
  const hints = [`is EventStoreDB running at ${redactUrl(url)}? ${composeUp}`];
  if (!/[?&]tls=false/i.test(url))
    hints.push('an insecure server (EVENTSTORE_INSECURE=true, as in docker-compose.yml) needs ?tls=false in the URL');
  if (/certificate|ssl|handshake/i.test(messageOf(error))) hints.push('a secure server needs its CA trusted (tlsCAFile=… in the URL)');
  return hints.join('; ');
};

const checkEsdb = async (url: string, timeoutMs: number): Promise<Finding[]> => {
  const [{ EventStoreDBClient, StreamNotFoundError }, { projectionHealth, ProjectionInstallError }] = await Promise.all([
    import('@eventstore/db-client'),
    import('../../projections/esdb.js'),
  ]);
  let client: InstanceType<typeof EventStoreDBClient>;
  try {
    client = EventStoreDBClient.connectionString(url);
  } catch (error) {
    return [
      fail(
        `the URL is not a valid connection string: ${messageOf(error)}`,
        'esdb://host:2113?tls=false, or esdb://user:password@host:2113 for a secure server',
      ),
    ];
  }
  const findings: Finding[] = [];
  try {
    // Reachable: a read of a stream that need not exist (a user stream, which any authenticated user may read).
    try {
      await within(
        (async () => {
          for await (const _ of client.readStream('jobtrail-doctor-probe', { maxCount: 1, deadline: timeoutMs })) break;
        })(),
        timeoutMs,
        redactUrl(url),
      );
      findings.push(ok('reachable'));
    } catch (error) {
      if (error instanceof StreamNotFoundError) findings.push(ok('reachable'));
      else if (typeOf(error) === 'access-denied')
        return [
          fail(
            `reachable, but access denied: ${messageOf(error)}`,
            'a secure server needs credentials in the connection string: esdb://user:password@host:2113',
          ),
        ];
      else return [fail(`not reachable: ${messageOf(error)}`, unreachableFix(url, error))];
    }
    // The version the server reports through ServerFeatures (not in the client's typings; `unknown` when not served).
    const capabilities = (client as unknown as { capabilities?: Promise<{ serverVersion?: string }> }).capabilities;
    const version = await within(Promise.resolve(capabilities), timeoutMs, 'ServerFeatures').then(
      (c) => (c?.serverVersion && c.serverVersion !== 'unknown' ? c.serverVersion : undefined),
      () => undefined,
    );
    findings.push(judgeVersion(version));
    try {
      const health = await within(projectionHealth(client, { deadlineMs: timeoutMs }), timeoutMs * 4, 'the projections');
      findings.push(...health.map(judgeProjection));
    } catch (error) {
      if (error instanceof ProjectionInstallError && error.reason === 'no-projections')
        findings.push(
          fail(
            'the projection subsystem is off (the server does not serve Projections)',
            'start the server with RunProjections=All (EVENTSTORE_RUN_PROJECTIONS=All; docker-compose.yml does)',
          ),
        );
      else if (typeOf(error) === 'access-denied')
        findings.push(fail(`projections: access denied: ${messageOf(error)}`, 'use a user in $admins or $ops in the connection string'));
      else findings.push(fail(`projections: ${messageOf(error)}`, 'run jobtrail doctor again; if it persists, see the server log'));
    }
    return findings;
  } finally {
    await within(client.dispose(), 1000, 'closing').catch(() => undefined);
  }
};

// ---------------------------------------------------------------- embedded (SQLite)

const formatBytes = (n: number): string =>
  n < 1024
    ? `${n} B`
    : n < 1024 ** 2
      ? `${(n / 1024).toFixed(1)} KiB`
      : n < 1024 ** 3
        ? `${(n / 1024 ** 2).toFixed(1)} MiB`
        : `${(n / 1024 ** 3).toFixed(2)} GiB`;

const checkEmbedded = async (url: string, project: ProjectConfig | undefined): Promise<Finding[]> => {
  // Issue 24: the durability this configuration opens the store with (each process sets its own when it opens it).
  let durability: ReturnType<typeof storeDurability>;
  try {
    durability = storeDurability(url, project);
  } catch (error) {
    return [fail(messageOf(error), 'use sqlite:<path>?synchronous=full or ?synchronous=normal, or no query')];
  }
  const path = parseSqliteUrl(url).path;
  if (path === ':memory:') return [info('in memory: gone with its process; nothing to check from here')];
  const durable =
    durability === undefined
      ? []
      : [
          info(
            `durability: ${describeDurability(durability.synchronous)}, from ${durability.from}; the processes started with this configuration use it`,
          ),
        ];
  const file = resolve(path);
  if (!existsSync(file))
    return [info(`${file}: does not exist yet (enqueue, run or demo create it; the commands that only read never do)`), ...durable];
  const size = (p: string) => (existsSync(p) ? statSync(p).size : 0);
  const wal = size(`${file}-wal`);
  const findings: Finding[] = [ok(`${file}: ${formatBytes(size(file))}${wal > 0 ? ` (+ ${formatBytes(wal)} of WAL)` : ''}`), ...durable];
  const { default: Database } = await import('better-sqlite3');
  let db: InstanceType<typeof Database> | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: 2000 });
    const has = (table: string) => db!.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
    if (has('es_leases')) {
      const lease = db
        .prepare('SELECT holder, expires_at FROM es_leases WHERE name = ? AND expires_at > ?')
        .get('projections', Date.now()) as { holder: string; expires_at: number } | undefined;
      findings.push(
        info(
          lease
            ? `projection lease: held by ${lease.holder} (it folds the projections; others read), until ${new Date(lease.expires_at).toISOString()} unless renewed`
            : 'projection lease: free (no process folds the projections now; the next that reads jobs takes it)',
        ),
      );
    }
    if (has('projection_states')) {
      const rows = db.prepare('SELECT name, status, fault, events_processed FROM projection_states ORDER BY name').all() as {
        name: string;
        status: string;
        fault: string | null;
        events_processed: number;
      }[];
      for (const r of rows)
        findings.push(
          r.status === 'faulted'
            ? fail(
                `${r.name}: faulted: ${(r.fault ?? '').split('\n')[0]}`,
                'fix the projection, then restart the process holding the lease (it rebuilds a changed projection)',
              )
            : ok(`${r.name}: ${r.status}, ${r.events_processed} events folded`),
        );
    }
  } catch (error) {
    findings.push(
      fail(`cannot read ${file}: ${messageOf(error)}`, 'check the file and its folder are readable (and not on a network file system)'),
    );
  } finally {
    db?.close();
  }
  return findings;
};

// ---------------------------------------------------------------- RabbitMQ

const checkRabbit = async (url: string, timeoutMs: number, queues: readonly string[]): Promise<Finding[]> => {
  const amqp = await import('amqplib');
  const [{ enqueueQueueName, rejectedQueueName, workQueueName }, { deadLetterQueueName }, { delayExpiredQueueName }] = await Promise.all([
    import('../../broker/workMessage.js'),
    import('../../broker/topology.js'),
    import('../../broker/rabbitmq/delayHops.js'),
  ]);
  let connection: Awaited<ReturnType<typeof amqp.connect>>;
  try {
    connection = await within(amqp.connect(url, { timeout: timeoutMs }), timeoutMs, redactUrl(url));
  } catch (error) {
    const message = messageOf(error);
    return [
      fail(
        `not reachable: ${message}`,
        /ACCESS_REFUSED|403/.test(message)
          ? 'the user or password is wrong: amqp://user:password@host:5672/vhost'
          : /NOT_ALLOWED|530/.test(message)
            ? 'the user may not use this vhost, or it does not exist'
            : `is RabbitMQ running at ${redactUrl(url)}? ${composeUp}`,
      ),
    ];
  }
  connection.on('error', () => undefined);
  const findings: Finding[] = [ok('reachable')];
  try {
    /** A queue's counts, or `undefined` when it is not declared (a 404 closes the channel: one channel per queue). */
    const check = async (queue: string) => {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      try {
        return await within(channel.checkQueue(queue), timeoutMs, `checkQueue ${queue}`);
      } catch {
        return undefined;
      } finally {
        await channel.close().catch(() => undefined);
      }
    };
    const notDeclared = (queue: string) => info(`${queue}: not declared yet (no jobtrail run has started on this RabbitMQ)`);
    const counts = (q: { messageCount: number; consumerCount: number }) =>
      `${q.messageCount} message${q.messageCount === 1 ? '' : 's'} ready, ${q.consumerCount} consumer${q.consumerCount === 1 ? '' : 's'}`;

    for (const queue of [enqueueQueueName, ...queues.map(workQueueName)]) {
      const q = await check(queue);
      if (!q) findings.push(notDeclared(queue));
      else if (q.consumerCount === 0 && q.messageCount > 0)
        findings.push(
          warn(
            `${queue}: ${counts(q)}`,
            'nothing consumes it: start npx jobtrail run --workers … (without --no-accept-commands for jobtrail.enqueue)',
          ),
        );
      else findings.push(q.consumerCount === 0 ? info(`${queue}: ${counts(q)}`) : ok(`${queue}: ${counts(q)}`));
    }
    for (const queue of [rejectedQueueName, ...queues.map((name) => deadLetterQueueName(workQueueName(name)))]) {
      const q = await check(queue);
      if (q && q.messageCount > 0)
        findings.push(warn(`${queue}: ${q.messageCount} message(s)`, `look at them in the management UI (:15672), queue ${queue}`));
    }
    const expired = await check(delayExpiredQueueName);
    if (expired && expired.messageCount > 0 && expired.consumerCount === 0)
      findings.push(
        warn(`${delayExpiredQueueName}: ${counts(expired)}`, 'retries wait there until a jobtrail run process routes them: start one'),
      );
  } finally {
    await within(connection.close(), 1000, 'closing').catch(() => undefined);
  }
  return findings;
};

// ---------------------------------------------------------------- the command

const marks: Record<Level, string> = { ok: 'ok  ', info: '    ', warn: 'WARN', fail: 'FAIL' };

/** The report, one screen: a section per adapter, a mark per line, the fix under what needs one. */
const render = (sections: readonly Section[]): string[] => {
  const lines: string[] = [];
  for (const s of sections) {
    lines.push(`${s.title.padEnd(8)}${s.target}`);
    for (const f of s.findings) {
      lines.push(`  ${marks[f.level]}  ${f.text}`);
      if (f.fix) lines.push(`        fix: ${f.fix}`);
    }
  }
  const failed = sections.flatMap((s) => s.findings).filter((f) => f.level === 'fail').length;
  const warned = sections.flatMap((s) => s.findings).filter((f) => f.level === 'warn').length;
  lines.push(
    failed > 0
      ? `${failed} problem${failed === 1 ? '' : 's'}${warned > 0 ? `, ${warned} warning${warned === 1 ? '' : 's'}` : ''}: see FAIL above`
      : warned > 0
        ? `all reachable; ${warned} warning${warned === 1 ? '' : 's'}`
        : 'all well',
  );
  return lines;
};

export const register = (program: Command, ctx: Context): void => {
  program
    .command('doctor')
    .description('check the store, its projections and the broker, and say how to fix what does not work (exit 1 if something failed)')
    .addOption(storeOption())
    .addOption(brokerOption())
    .addOption(workersOption())
    .option('--queue <name...>', "the workers' queues whose consumers to count (default: the --workers module's, else default)")
    .option('--timeout <seconds>', 'how long to wait for each server', parsePositiveInt('--timeout'), 5)
    .action(async (opts: Common & { queue?: string[]; timeout: number }) => {
      const { io } = ctx;
      const timeoutMs = opts.timeout * 1000;
      const storeUrl = ctx.storeUrl(opts);
      const brokerUrl = ctx.brokerUrl(opts);
      const sections: Section[] = [];

      const isEsdb = /^esdb(\+discover)?:\/\//.test(storeUrl);
      sections.push({
        title: 'store',
        target: `${redactUrl(storeUrl)}${isEsdb ? ' (EventStoreDB)' : storeUrl.startsWith('sqlite:') ? ' (embedded SQLite)' : ''}`,
        findings: isEsdb
          ? await checkEsdb(storeUrl, timeoutMs)
          : storeUrl.startsWith('sqlite:')
            ? await checkEmbedded(storeUrl, ctx.project())
            : [fail('unknown store URL', 'sqlite:<path>, sqlite::memory: or esdb://host:2113?tls=false')],
      });

      const trimmed = brokerUrl.trim();
      let queues = opts.queue ?? [];
      if (queues.length === 0) {
        const module = ctx.workersModule(opts);
        if (module) {
          const { loadWorkers } = await import('../../worker/index.js');
          queues = [...new Set((await loadWorkers(module)).map((w) => w.queue))];
        } else queues = ['default'];
      }
      sections.push({
        title: 'broker',
        target: trimmed === 'memory' ? 'memory (in-process)' : redactUrl(trimmed),
        findings:
          trimmed === 'memory'
            ? [info('in-process: work is delivered inside each process; nothing to check')]
            : /^amqps?:\/\//i.test(trimmed)
              ? await checkRabbit(trimmed, timeoutMs, queues)
              : [fail('unknown broker URL', 'memory, or amqp://user:password@host:5672/vhost')],
      });

      for (const line of render(sections)) io.out(line);
      if (sections.some((s) => s.findings.some((f) => f.level === 'fail'))) ctx.exitCode = 1;
    });
};
