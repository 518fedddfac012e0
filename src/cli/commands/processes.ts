import type { Command } from 'commander';
import { ago, concurrencyText, statusText } from '../../processes/index.js';
import { storeOption, type Common, type Context } from '../context.js';

type ProcessesOptions = Common & { all?: boolean; json?: boolean };

/**
 * `jobtrail processes` (docs/processes.md): the `jobtrail run` processes from their heartbeats in the store, in either
 * mode: running, stopped (said so), gone (no heartbeat for 6 of its intervals; its attempts recovered or not).
 */
export const register = (program: Command, { io, withEngine }: Context): void => {
  program
    .command('processes')
    .description(
      'list the jobtrail run processes from their heartbeats: running, stopped, or gone (and whether their attempts were recovered)',
    )
    .addOption(storeOption())
    .option('--all', 'also the processes that stopped or went gone long ago (kept 7 days)')
    .option('--json', 'print them as JSON, one array')
    .action(async (opts: ProcessesOptions) => {
      await withEngine(
        opts,
        async (engine) => {
          const all = await engine.listProcesses({ all: opts.all === true });
          if (opts.json) return io.out(JSON.stringify(all));
          if (all.length === 0) return io.out(opts.all ? 'no processes' : 'no processes running or seen lately (--all for older ones)');
          const now = Date.now();
          const rows = [
            ['PROCESS', 'STATUS', 'LAST SEEN', 'RUNNING', 'QUEUES', 'WORKERS×CONCURRENCY', 'VERSION', 'STARTED'],
            ...all.map((p) => [
              p.processId,
              statusText(p),
              ago(p.lastSeenAt, now),
              p.running === undefined ? '?' : String(p.running),
              p.queues === undefined ? '?' : p.queues.join(','),
              concurrencyText(p),
              p.version ?? '?',
              p.startedAt ?? '?',
            ]),
          ];
          const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
          for (const r of rows) io.out(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
        },
        { recover: false, readOnly: true },
      );
    });
};
