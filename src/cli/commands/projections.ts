import type { Command } from 'commander';
import { redactUrl } from '../../log/index.js';
import { projectionsDir } from '../../projections/index.js';
import { storeOption, type Common, type Context } from '../context.js';

/** `jobtrail projections install`: create or update jobtrail's projections in EventStoreDB; the embedded store needs none. */
export const register = (program: Command, { io, storeUrl }: Context): void => {
  program
    .command('projections')
    .description('manage the read-side projections')
    .command('install')
    .description("create jobtrail's projections (job-view, job-dashboard) in EventStoreDB, or update them when they exist")
    .addOption(storeOption())
    .option('--reset', 'fold every event again with the new code after an update')
    .action(async (opts: Common & { reset?: boolean }) => {
      const url = storeUrl(opts);
      if (!/^esdb(\+discover)?:\/\//.test(url)) {
        io.out(`the store ${redactUrl(url)} is embedded: its projections run in-process from projections/*.js; nothing to install`);
        return;
      }
      const [{ EventStoreDBClient }, { installProjections }] = await Promise.all([
        import('@eventstore/db-client'),
        import('../../projections/esdb.js'),
      ]);
      const client = EventStoreDBClient.connectionString(url);
      try {
        for (const p of await installProjections(client, projectionsDir, { ...(opts.reset ? { reset: true } : {}) }))
          io.out(`${p.action} ${p.name} (emitEnabled: ${p.emitEnabled}${p.reset ? ', reset' : ''})`);
      } finally {
        await client.dispose();
      }
    });
};
