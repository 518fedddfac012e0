import type { Command } from 'commander';
import { redactUrl } from '../../log/index.js';
import { projectionsDir } from '../../projections/index.js';
import { parsePositiveInt, storeOption, type Common, type Context } from '../context.js';
import { UserError } from '../errors.js';

/**
 * `jobtrail projections install`: create or update jobtrail's projections in
 * EventStoreDB (and enable `$by_category`, which they read from); the embedded
 * store needs none. Waits for the server and its projection subsystem (up to
 * `--timeout` seconds), then reports each projection's status; a Faulted one
 * fails the command with its reason.
 */
export const register = (program: Command, { io, storeUrl }: Context): void => {
  program
    .command('projections')
    .description('manage the read-side projections')
    .command('install')
    .description(
      "create jobtrail's projections (job-view, job-dashboard, job-index) in EventStoreDB, or update them when they exist; enables $by_category",
    )
    .addOption(storeOption())
    .option('--reset', 'fold every event again with the new code after an update')
    .option('--timeout <seconds>', 'how long to wait for the server and its projection subsystem', parsePositiveInt('--timeout'), 60)
    .action(async (opts: Common & { reset?: boolean; timeout: number }) => {
      const url = storeUrl(opts);
      if (!/^esdb(\+discover)?:\/\//.test(url)) {
        io.out(`the store ${redactUrl(url)} is embedded: its projections run in-process from projections/*.js; nothing to install`);
        return;
      }
      const [{ EventStoreDBClient }, { installProjections, ProjectionInstallError }] = await Promise.all([
        import('@eventstore/db-client'),
        import('../../projections/esdb.js'),
      ]);
      const client = EventStoreDBClient.connectionString(url);
      try {
        io.out(`installing jobtrail's projections into ${redactUrl(url)} (waiting up to ${opts.timeout} s for it)`);
        const installed = await installProjections(client, projectionsDir, {
          ...(opts.reset ? { reset: true } : {}),
          timeoutMs: opts.timeout * 1000,
          onProgress: (line) => io.out(line),
        });
        for (const p of installed)
          io.out(
            `${p.action} ${p.name} (emitEnabled: ${p.emitEnabled}${p.reset ? ', reset' : ''}): ${p.health?.status ?? 'status unknown'}` +
              (p.health?.lag !== undefined ? `, ${p.health.lag} event(s) behind` : ''),
          );
      } catch (error) {
        if (error instanceof ProjectionInstallError) throw new UserError(error.message);
        throw error;
      } finally {
        await client.dispose();
      }
    });
};
