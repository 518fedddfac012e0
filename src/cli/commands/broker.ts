import type { Command } from 'commander';
import { describeBrokerRecord } from '../../conductor/index.js';
import { redactUrl } from '../../log/index.js';
import { brokerOption, storeOption, type Common, type Context } from '../context.js';

/**
 * `jobtrail broker show|set`: the broker the store remembers as the one that dispatches its jobs (issue 22;
 * docs/running.md#the-store-remembers-its-broker). `set` is the deliberate switch, recorded with who and why.
 */
export const register = (program: Command, { io, brokerUrl, withEngine }: Context): void => {
  const broker = program.command('broker').description('the broker the store remembers as dispatching its jobs: show it, or switch it');

  broker
    .command('show')
    .description(
      "print the broker recorded in the store (by the first jobtrail run, or by broker set), and whether this command's broker matches",
    )
    .addOption(storeOption())
    .addOption(brokerOption())
    .option('--json', 'print the record as JSON (null when none)')
    .action(async (opts: Common & { json?: boolean }) => {
      await withEngine(
        // Opening the in-process broker connects nowhere: show only reads.
        { ...opts, broker: 'memory' },
        async (engine) => {
          const record = await engine.recordedBroker();
          if (opts.json) {
            io.out(JSON.stringify(record ?? null));
            return;
          }
          if (record === undefined) {
            io.out('no broker recorded: the first jobtrail run (engine.start) on this store records its broker');
            return;
          }
          io.out(`this store's jobs are dispatched by ${describeBrokerRecord(record)}${record.reason ? `: ${record.reason}` : ''}`);
          const mine = brokerUrl(opts);
          const kind = mine === 'memory' ? 'memory' : /^amqps?:/.test(mine) ? 'rabbitmq' : undefined;
          if (kind !== undefined && kind !== record.kind)
            io.out(
              `this directory's broker is ${kind === 'memory' ? 'memory' : redactUrl(mine)}: commands here that dispatch (enqueue, retry, cancel, run) are refused`,
            );
        },
        { recover: false, readOnly: true },
      );
    });

  broker
    .command('set')
    .description(
      "record <url> as the broker that dispatches this store's jobs (a deliberate switch; restart the old broker's jobtrail run processes)",
    )
    .argument('<url>', 'the broker: memory, or amqp://user:password@host:5672/vhost (the password is never recorded)')
    .addOption(storeOption())
    .option('--by <name>', 'who did it, for the record', io.env.USER ?? 'cli')
    .option('--reason <text>', 'why, for the record')
    .action(async (url: string, opts: Common & { by: string; reason?: string }) => {
      await withEngine(
        { ...opts, broker: url },
        async (engine) => {
          const before = await engine.recordedBroker();
          const record = await engine.setBroker({ by: opts.by, ...(opts.reason !== undefined ? { reason: opts.reason } : {}) });
          io.out(
            before !== undefined && before.at === record.at
              ? `unchanged: this store's jobs are dispatched by ${describeBrokerRecord(record)}`
              : `recorded: this store's jobs are dispatched by ${describeBrokerRecord(record)}` +
                  (before !== undefined ? ` (was ${before.kind}${before.url !== undefined ? ` at ${before.url}` : ''})` : ''),
          );
        },
        // The store must exist: a switch of a store nobody uses is a typo.
        { recover: false, readOnly: true },
      );
    });
};
