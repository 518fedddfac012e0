import type { Command } from 'commander';
import {
  brokerOption,
  parseJson,
  parsePositiveInt,
  parsePriority,
  storeOption,
  workersOption,
  type Common,
  type Context,
} from '../context.js';
import { UserError } from '../errors.js';

/** `jobtrail enqueue <workerName> [payload]`: records JobEnqueued and dispatches it. */
export const register = (program: Command, { io, workersModule, withEngine }: Context): void => {
  program
    .command('enqueue')
    .description('enqueue a job: records JobEnqueued and dispatches it')
    .argument('<workerName>', 'the worker to run')
    .argument('[payload]', 'the payload as JSON', parseJson('the payload'), {})
    .addOption(storeOption())
    .addOption(brokerOption())
    .addOption(workersOption())
    .option('--job-id <id>', 'the dedupe key: the same id enqueued twice makes one job')
    .option('--queue <name>', "named queue (default: the worker's)")
    .option('--max-attempts <n>', "attempts in all (default: the worker's)", parsePositiveInt('--max-attempts'))
    .option('--run-at <time>', 'run no earlier than this ISO-8601 time')
    .option('--priority <n>', 'higher runs first (a number; default 0; on RabbitMQ above 0 is high, from RabbitMQ 4.0)', parsePriority)
    .option('--by <name>', 'who enqueued it, for the record')
    .option('--after <jobId...>', 'a continuation: run after this job (several: after all of them); it waits as awaiting')
    .option('--on <when>', 'with --after: completed (default: only if every parent completed) or finished (however they ended)')
    .option('--json', 'print the result as JSON')
    .action(
      async (
        workerName: string,
        payload: unknown,
        opts: Common & {
          jobId?: string;
          queue?: string;
          maxAttempts?: number;
          runAt?: string;
          priority?: number;
          by?: string;
          after?: string[];
          on?: string;
          json?: boolean;
        },
      ) => {
        if (!workersModule(opts))
          throw new UserError(
            'jobtrail enqueue needs --workers <module> (or JOBTRAIL_WORKERS, or "workers" in jobtrail.config.json) to check the worker name and payload',
            2,
          );
        await withEngine(
          opts,
          async (engine) => {
            const r = await engine.enqueue(workerName, payload, {
              ...(opts.jobId !== undefined ? { jobId: opts.jobId } : {}),
              ...(opts.queue !== undefined ? { queue: opts.queue } : {}),
              ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
              ...(opts.runAt !== undefined ? { runAt: opts.runAt } : {}),
              ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
              ...(opts.after !== undefined ? { after: opts.after } : {}),
              // Checked by the enqueue itself, which names the values it takes.
              ...(opts.on !== undefined ? { on: opts.on as 'completed' } : {}),
              enqueuedBy: opts.by ?? 'cli',
            });
            io.out(
              opts.json
                ? JSON.stringify({ ok: true, jobId: r.jobId, created: r.created })
                : `${r.created ? 'enqueued' : 'exists already'}: ${r.jobId}`,
            );
            // A paused queue, or one nothing consumes (docs/queues.md): the job is recorded all the same (exit 0).
            for (const warning of r.warnings ?? []) io.err(`jobtrail: warning: ${warning}`);
          },
          { recover: false },
        );
      },
    );
};
