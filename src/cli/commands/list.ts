import { InvalidArgumentError, type Command } from 'commander';
import { displayStatus, parseStatusFilter, statusFilterChoices, formatJobTable, type StatusFilter } from '../../present/index.js';
import { parsePositiveInt, storeOption, type Common, type Context } from '../context.js';
import { listPage } from '../lib/listPage.js';
import { shellQuote } from '../lib/shellQuote.js';

const defaultLimit = 50;

const parseStatus = (text: string): StatusFilter => {
  const f = parseStatusFilter(text);
  if (f === undefined)
    throw new InvalidArgumentError(
      `Allowed choices are ${statusFilterChoices.join(', ')} (errored: awaiting_retry and failed together; awaiting-retry and in-progress are taken too).`,
    );
  return f;
};

/** `jobtrail list`: jobs, newest first, by status and worker, a page at a time. */
export const register = (program: Command, { io, storeLabel, withEngine }: Context): void => {
  program
    .command('list')
    .description('jobs, newest enqueued first, a page at a time (the last line says how to get the next page)')
    .addOption(storeOption())
    .option(
      '--status <status>',
      `only jobs in this status: ${statusFilterChoices.join(', ')} (errored = awaiting_retry and failed)`,
      parseStatus,
    )
    .option('--worker <name>', 'only jobs of this worker')
    .option('--limit <n>', `at most this many (default ${defaultLimit})`, parsePositiveInt('--limit'), defaultLimit)
    .option('--after <cursor>', 'continue after the page that printed this cursor (on its last line)')
    .option('--json', 'print JSON lines: one job each, then {"next": cursor} when more jobs exist')
    .action(async (opts: Common & { status?: StatusFilter; worker?: string; limit: number; after?: string; json?: boolean }) => {
      await withEngine(
        { ...opts, broker: 'memory' },
        async (engine) => {
          const { queries } = await engine.projections();
          const page = await listPage(queries, {
            limit: opts.limit,
            ...(opts.status !== undefined ? { status: opts.status } : {}),
            ...(opts.worker !== undefined ? { worker: opts.worker } : {}),
            ...(opts.after !== undefined ? { after: opts.after } : {}),
          });
          // Which store this is, on stderr (stdout stays the list): "(no jobs)" from the wrong store reads otherwise like an empty one.
          io.err(`jobtrail list: store ${storeLabel(opts)}`);
          if (opts.json) {
            const lines = page.jobs.map((j) => JSON.stringify({ ...j, displayStatus: displayStatus(j) }));
            if (page.next !== undefined) lines.push(JSON.stringify({ next: page.next }));
            if (lines.length > 0) io.out(lines.join('\n'));
            return;
          }
          io.out(page.jobs.length === 0 && opts.after !== undefined ? '(no more jobs)' : formatJobTable(page.jobs));
          if (page.next !== undefined) {
            const again = [
              'jobtrail list',
              ...(opts.store !== undefined ? ['--store', shellQuote(storeLabel(opts))] : []),
              ...(opts.status !== undefined ? ['--status', opts.status] : []),
              ...(opts.worker !== undefined ? ['--worker', shellQuote(opts.worker)] : []),
              ...(opts.limit !== defaultLimit ? ['--limit', String(opts.limit)] : []),
              '--after',
              page.next,
            ].join(' ');
            io.out(`more jobs: ${again}`);
          }
        },
        { recover: false, readOnly: true },
      );
    });
};
