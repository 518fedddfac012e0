import type { Command } from 'commander';
import { createProducer } from '../../producer/index.js';
import {
  brokerOption,
  parseJson,
  parseMilliseconds,
  parsePositiveInt,
  parsePriority,
  storeOption,
  workersOption,
  type Common,
  type Context,
} from '../context.js';
import { UserError } from '../errors.js';
import { engineSink, producerSink, type Outcome, type Sink } from '../lib/enqueueSinks.js';
import { enqueueFrom } from '../lib/enqueueFrom.js';

type EnqueueFlags = Common & {
  jobId?: string;
  queue?: string;
  maxAttempts?: number;
  runAt?: string;
  priority?: number;
  by?: string;
  after?: string[];
  on?: string;
  json?: boolean;
  from?: string;
  wait: boolean;
  replyTimeout: number;
};

/** The note printed when RabbitMQ mode sends a command without workers: nothing checks the payload here. */
const unchecked =
  'no --workers: the worker name and payload are not checked here; the jobtrail run process that takes the command checks them (a refusal is its answer, and the command goes to jobtrail.enqueue.rejected)';

/** `jobtrail enqueue <workerName> [payload]` or `jobtrail enqueue --from <file>`: records JobEnqueued and dispatches it. */
export const register = (program: Command, ctx: Context): void => {
  const { io, workersModule, withEngine, brokerUrl } = ctx;
  program
    .command('enqueue')
    .description(
      'enqueue a job: records JobEnqueued and dispatches it (with --workers; on RabbitMQ without them it sends an enqueue command to the jobtrail run processes)',
    )
    .argument('[workerName]', 'the worker to run (not with --from)')
    .argument('[payload]', 'the payload as JSON', parseJson('the payload'), {})
    .addOption(storeOption())
    .addOption(brokerOption())
    .addOption(workersOption())
    .option(
      '--from <file>',
      'enqueue one job per line of this JSON-lines file ("-" for stdin): {"worker":…,"payload":…,"jobId"?,"queue"?,"runAt"?,"priority"?,"maxAttempts"?}',
    )
    .option('--job-id <id>', 'the dedupe key: the same id enqueued twice makes one job')
    .option('--queue <name>', "named queue (default: the worker's)")
    .option('--max-attempts <n>', "attempts in all (default: the worker's)", parsePositiveInt('--max-attempts'))
    .option('--run-at <time>', 'run no earlier than this ISO-8601 time')
    .option('--priority <n>', 'higher runs first (a number; default 0; on RabbitMQ above 0 is high, from RabbitMQ 4.0)', parsePriority)
    .option('--by <name>', 'who enqueued it, for the record')
    .option('--after <jobId...>', 'a continuation: run after this job (several: after all of them); it waits as awaiting')
    .option('--on <when>', 'with --after: completed (default: only if every parent completed) or finished (however they ended)')
    .option('--no-wait', 'RabbitMQ without --workers: return once RabbitMQ has the command, without waiting for the answer')
    .option(
      '--reply-timeout <ms>',
      'RabbitMQ without --workers: how long to wait for the answer',
      parseMilliseconds('--reply-timeout'),
      10_000,
    )
    .option('--json', 'print the result as JSON')
    .action(async (workerName: string | undefined, payload: unknown, opts: EnqueueFlags) => {
      const by = opts.by ?? 'cli';
      const amqp = /^amqps?:\/\//i.test(brokerUrl(opts).trim());
      const viaProducer = workersModule(opts) === undefined;
      if (viaProducer && !amqp)
        throw new UserError(
          'jobtrail enqueue needs --workers <module> (or JOBTRAIL_WORKERS, or "workers" in jobtrail.config.json) to check the worker name and payload; ' +
            'with RabbitMQ (--broker amqp://…) it can instead send the command to the jobtrail run processes, which check it',
          2,
        );
      if (opts.from !== undefined) {
        const perJob = (['jobId', 'queue', 'maxAttempts', 'runAt', 'priority', 'after', 'on'] as const).filter(
          (k) => opts[k] !== undefined,
        );
        if (workerName !== undefined || perJob.length > 0)
          throw new UserError(
            `--from reads every job from its lines: give the worker, payload${perJob.length > 0 ? `, ${perJob.join(', ')}` : ''} there, not on the command line`,
            2,
          );
      } else if (workerName === undefined) throw new UserError('jobtrail enqueue needs a worker name (or --from <file>)', 2);

      const run = async (sink: Sink): Promise<void> => {
        if (opts.from !== undefined) {
          ctx.exitCode = await enqueueFrom(io, sink, opts.from, {
            json: opts.json === true,
            unchecked: viaProducer ? unchecked : undefined,
          });
          return;
        }
        const [o] = await sink.send([
          {
            line: 1,
            worker: workerName!,
            payload,
            ...(opts.jobId !== undefined ? { jobId: opts.jobId } : {}),
            ...(opts.queue !== undefined ? { queue: opts.queue } : {}),
            ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
            ...(opts.runAt !== undefined ? { runAt: opts.runAt } : {}),
            ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
          },
        ]);
        printOne(o!, opts.json === true);
      };
      const printOne = (o: Outcome, json: boolean): void => {
        if (o.result === 'rejected') throw new UserError(o.reason);
        if (json)
          io.out(
            JSON.stringify({
              ok: true,
              jobId: o.jobId,
              ...(o.result === 'created' || o.result === 'duplicate' ? { created: o.result === 'created' } : { [o.result]: true }),
            }),
          );
        else
          io.out(
            o.result === 'created'
              ? `enqueued: ${o.jobId}`
              : o.result === 'duplicate'
                ? `exists already: ${o.jobId}`
                : o.result === 'sent'
                  ? `sent: ${o.jobId} (RabbitMQ has the command; a jobtrail run process records the job, or refuses it into jobtrail.enqueue.rejected)`
                  : `sent, not yet answered: ${o.jobId}`,
          );
        if (o.result === 'unanswered')
          io.err(
            `jobtrail: warning: ${o.reason.replace(/ \(is a .*\)$/, '')}: the command stays in jobtrail.enqueue and makes the job when a jobtrail run process takes it. ` +
              'Enqueueing again with the same --job-id makes no second job.',
          );
        // A paused queue, or one nothing consumes (docs/queues.md): the job is recorded all the same (exit 0).
        if (o.result === 'created' || o.result === 'duplicate')
          for (const warning of o.warnings ?? []) io.err(`jobtrail: warning: ${warning}`);
      };

      if (viaProducer) {
        if (opts.after !== undefined || opts.on !== undefined)
          throw new UserError('--after and --on need --workers: continuations are recorded by this process, not sent as commands', 2);
        if (opts.from === undefined) io.err(`jobtrail enqueue: ${unchecked}`);
        const producer = await createProducer({ broker: brokerUrl(opts), replyTimeoutMs: opts.replyTimeout });
        try {
          await run(producerSink(producer, { by, wait: opts.wait, replyTimeoutMs: opts.replyTimeout }));
        } finally {
          await producer.close();
        }
        return;
      }
      await withEngine(
        opts,
        async (engine) => {
          if (opts.from === undefined) {
            // One job: the engine's own enqueue, which checks it (and names itself in a refusal).
            const r = await engine.enqueue(workerName!, payload, {
              ...(opts.jobId !== undefined ? { jobId: opts.jobId } : {}),
              ...(opts.queue !== undefined ? { queue: opts.queue } : {}),
              ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
              ...(opts.runAt !== undefined ? { runAt: opts.runAt } : {}),
              ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
              ...(opts.after !== undefined ? { after: opts.after } : {}),
              // Checked by the enqueue itself, which names the values it takes.
              ...(opts.on !== undefined ? { on: opts.on as 'completed' } : {}),
              enqueuedBy: by,
            });
            printOne(
              { line: 1, result: r.created ? 'created' : 'duplicate', jobId: r.jobId, ...(r.warnings ? { warnings: r.warnings } : {}) },
              opts.json === true,
            );
            return;
          }
          await run(engineSink(engine, by));
        },
        { recover: false },
      );
    });
};
