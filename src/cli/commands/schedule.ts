import { InvalidArgumentError, type Command } from 'commander';
import { CatchUp, Overlap } from '../../schedules/index.js';
import { brokerOption, parseJson, parsePositiveInt, storeOption, workersOption, type Common, type Context } from '../context.js';

const choice =
  (what: string, choices: readonly string[]) =>
  (text: string): string => {
    if (!choices.includes(text))
      throw new InvalidArgumentError(`${what} must be one of ${choices.join(', ')}, got ${JSON.stringify(text)}`);
    return text;
  };

type SetOptions = Common & {
  tz?: string;
  catchUp?: CatchUp;
  overlap?: Overlap;
  queue?: string;
  maxAttempts?: number;
  by: string;
  json?: boolean;
};

/**
 * `jobtrail schedule set|list|pause|resume|trigger|remove`: recurring jobs (docs/recurring.md). These commands only
 * record; the started engines (`jobtrail run`) fire the runs.
 */
export const register = (program: Command, { io, withEngine }: Context): void => {
  const schedule = program
    .command('schedule')
    .description('recurring jobs: set, list, pause, resume, trigger or remove a schedule (jobtrail run processes fire them)');
  const common = (c: Command) => c.addOption(storeOption()).addOption(brokerOption());

  common(
    schedule
      .command('set')
      .description("create or replace a schedule: its runs are jobs '<id>@<fire time>' of the worker")
      .argument('<id>', 'the schedule id (1–103 characters of [A-Za-z0-9._:-])')
      .argument('<cron>', "five fields (minute first) or six (seconds first), e.g. '0 3 * * *'")
      .argument('<worker>', "the worker's name")
      .argument('<payload>', 'the payload of every run, as JSON', parseJson('the payload')),
  )
    .addOption(workersOption())
    .option('--tz <zone>', 'the IANA time zone the cron is read in [default: UTC]')
    .option(
      '--catch-up <how>',
      'ticks every process missed: none, latest (one run) or all (at most 100) [default: latest]',
      choice('--catch-up', Object.keys(CatchUp.keys)),
    )
    .option(
      '--overlap <how>',
      'allow, or skip a tick whose previous run is unfinished [default: allow]',
      choice('--overlap', Object.keys(Overlap.keys)),
    )
    .option('--queue <name>', "the runs' queue [default: the worker's]")
    .option('--max-attempts <n>', "attempts per run [default: the worker's]", parsePositiveInt('--max-attempts'))
    .option('--by <name>', 'who did it, for the record', io.env.USER ?? 'cli')
    .option('--json', 'print the schedule as JSON')
    .action(async (id: string, cron: string, worker: string, payload: unknown, opts: SetOptions) => {
      await withEngine(
        opts,
        async (engine) => {
          const r = await engine.upsertSchedule(id, {
            cron,
            workerName: worker,
            payload,
            by: opts.by,
            ...(opts.tz !== undefined ? { timezone: opts.tz } : {}),
            ...(opts.catchUp !== undefined ? { catchUp: opts.catchUp } : {}),
            ...(opts.overlap !== undefined ? { overlap: opts.overlap } : {}),
            ...(opts.queue !== undefined ? { queue: opts.queue } : {}),
            ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
          });
          const info = await engine.getSchedule(id);
          if (opts.json) io.out(JSON.stringify(info));
          else io.out(`${id}: ${r.changed ? 'set' : 'unchanged'}; next run ${info?.nextFireTime ?? '—'}`);
        },
        { recover: false },
      );
    });

  common(schedule.command('list').description('the schedules with their next and last runs'))
    .option('--json', 'print them as JSON, one array')
    .action(async (opts: Common & { json?: boolean }) => {
      await withEngine(
        opts,
        async (engine) => {
          const all = await engine.listSchedules();
          if (opts.json) return io.out(JSON.stringify(all));
          if (all.length === 0) return io.out('no schedules');
          io.out(['ID', 'CRON', 'ZONE', 'WORKER', 'STATUS', 'NEXT', 'LAST', 'LAST JOB', 'LAST STATUS'].join('\t'));
          for (const s of all)
            io.out(
              [
                s.scheduleId,
                s.cron,
                s.timezone,
                s.workerName,
                s.status,
                s.nextFireTime ?? '—',
                s.lastFireTime ?? '—',
                s.lastJobId ?? '—',
                s.lastJobStatus ?? '—',
              ].join('\t'),
            );
        },
        { recover: false, readOnly: true },
      );
    });

  for (const [name, description] of [
    ['pause', 'stop firing a schedule until resumed (ticks in between are not caught up)'],
    ['resume', 'fire a paused schedule again from its next tick'],
    ['trigger', "run a schedule once now, outside its cron: job '<id>@<now>'"],
    ['remove', 'remove a schedule (its stream stays, the record)'],
  ] as const)
    common(schedule.command(name).description(description).argument('<id>'))
      .option('--by <name>', 'who did it, for the record', io.env.USER ?? 'cli')
      .option('--json', 'print the outcome as JSON')
      .action(async (id: string, opts: Common & { by: string; json?: boolean }) => {
        await withEngine(
          opts,
          async (engine) => {
            const by = { by: opts.by };
            if (name === 'trigger') {
              const r = await engine.triggerSchedule(id, by);
              return io.out(opts.json ? JSON.stringify({ jobId: r.jobId, created: r.created }) : `${id}: triggered, job ${r.jobId}`);
            }
            if (name === 'remove') {
              await engine.removeSchedule(id, by);
              return io.out(opts.json ? JSON.stringify({ scheduleId: id, removed: true }) : `${id}: removed`);
            }
            const view = name === 'pause' ? await engine.pauseSchedule(id, by) : await engine.resumeSchedule(id, by);
            io.out(opts.json ? JSON.stringify(view) : `${id}: ${view.status}`);
          },
          { recover: false, readOnly: true },
        );
      });
};
