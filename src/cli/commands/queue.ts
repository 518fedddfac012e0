import type { Command } from 'commander';
import type { QueueChange, QueueInfo } from '../../queues/index.js';
import { brokerOption, storeOption, workersOption, type Common, type Context } from '../context.js';

type ChangeOptions = Common & { by: string; reason?: string; json?: boolean };

const describeChange = (r: QueueChange): string => {
  const who = `${r.control.by !== undefined ? ` by ${r.control.by}` : ''}${r.control.changedAt !== undefined ? ` at ${r.control.changedAt}` : ''}`;
  const why = r.control.reason !== undefined ? ` (${r.control.reason})` : '';
  const state = r.paused ? 'paused' : 'resumed';
  return r.changed
    ? `${r.queue}: ${state}${who}${why}`
    : `${r.queue}: already ${r.paused ? 'paused' : 'running'}${r.control.changedAt !== undefined ? ` (${state}${who}${why})` : ''}; nothing recorded`;
};

const cell = (n: number | undefined): string => (n === undefined ? '?' : String(n));

const stateOf = (q: QueueInfo): string =>
  q.paused
    ? `paused${q.pausedBy !== undefined ? ` by ${q.pausedBy}` : ''}${q.pausedAt !== undefined ? ` since ${q.pausedAt}` : ''}${q.pauseReason !== undefined ? ` (${q.pauseReason})` : ''}`
    : q.noConsumer
      ? 'no consumer'
      : 'running';

/**
 * `jobtrail queue pause|resume|list` (docs/queues.md): pause and resume record `QueuePaused` / `QueueResumed` in the
 * queue's stream, which every `jobtrail run` process follows; `list` shows the queues. None of them creates a store.
 */
export const register = (program: Command, { io, withEngine }: Context): void => {
  const queue = program
    .command('queue')
    .description('pause, resume or list work queues (jobtrail run processes stop and start taking their work within a second)');
  const common = (c: Command) => c.addOption(storeOption()).addOption(brokerOption());

  for (const [name, description] of [
    ['pause', 'stop every process taking work from a queue (enqueues still succeed and wait; running jobs finish)'],
    ['resume', 'let the processes take work from a paused queue again'],
  ] as const)
    common(queue.command(name).description(description).argument('<name>', 'the queue (1–100 characters of [A-Za-z0-9._-])'))
      .option('--by <name>', 'who did it, for the record', io.env.USER ?? 'cli')
      .option('--reason <text>', 'why, for the record')
      .option('--json', 'print the outcome as JSON')
      .action(async (queueName: string, opts: ChangeOptions) => {
        await withEngine(
          opts,
          async (engine) => {
            const options = { by: opts.by, ...(opts.reason !== undefined ? { reason: opts.reason } : {}) };
            const r = name === 'pause' ? await engine.pauseQueue(queueName, options) : await engine.resumeQueue(queueName, options);
            io.out(opts.json ? JSON.stringify(r) : describeChange(r));
          },
          { recover: false, readOnly: true },
        );
      });

  common(queue.command('list').description('the queues: paused or not, depth and consumers where known, and those nothing consumes'))
    .addOption(workersOption())
    .option('--json', 'print them as JSON, one array')
    .action(async (opts: Common & { json?: boolean }) => {
      await withEngine(
        opts,
        async (engine) => {
          const all = await engine.listQueues();
          if (opts.json) return io.out(JSON.stringify(all));
          if (all.length === 0) return io.out('no queues');
          io.out(['QUEUE', 'STATE', 'DEPTH', 'CONSUMERS', 'WORKERS HERE'].join('\t'));
          for (const q of all)
            io.out([q.name, stateOf(q), cell(q.depth), cell(q.consumers), q.workers.length > 0 ? q.workers.join(',') : '—'].join('\t'));
        },
        { recover: false, readOnly: true },
      );
    });
};
