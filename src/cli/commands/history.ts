import type { Command } from 'commander';
import { JobNotFoundError } from '../../conductor/index.js';
import type { Engine } from '../../engine.js';
import { eventTime, evolve, initialJobState, isFinal, type JobState } from '../../job/index.js';
import { formatHistory, formatView, historyJsonLine, viewAt } from '../../present/index.js';
import { parseAt, storeOption, untilSignal, type Common, type Context, type Io } from '../context.js';
import { UserError } from '../errors.js';

/** `jobtrail history <jobId>`: the replayed history; `--follow` keeps printing until the job is final, `--at` shows a past view. */
export const register = (program: Command, ctx: Context): void => {
  const { io, withEngine } = ctx;
  program
    .command('history')
    .description("replay a job's history: every event, its revision, time, time since the previous one, attempt, and errors with stacks")
    .argument('<jobId>')
    .addOption(storeOption())
    .option('--json', 'print the events as JSON lines (with --at: the view as JSON)')
    .option(
      '-f, --follow',
      'keep printing new events as they are appended, until the job is final (completed, cancelled, or failed for good); then exit 0',
    )
    .option(
      '--at <time>',
      "print the job's view as it was at this ISO-8601 time (e.g. 2026-11-28T10:59:19Z), folded from the events that happened by then",
    )
    .action(async (jobId: string, opts: Common & { json?: boolean; follow?: boolean; at?: string }) => {
      if (opts.follow && opts.at !== undefined)
        throw new UserError('--follow and --at do not go together: --at shows a moment of the past, --follow waits for what comes next', 2);
      const at = opts.at !== undefined ? parseAt(opts.at) : undefined;
      await withEngine(
        { ...opts, broker: 'memory' },
        async (engine) => {
          if (opts.follow) {
            ctx.exitCode = await followHistory(io, engine, jobId, opts.json === true);
            return;
          }
          const events = await engine.history(jobId);
          if (events.length === 0) throw new JobNotFoundError(jobId);
          if (at !== undefined) {
            const past = viewAt(events, at);
            if (past === undefined)
              throw new UserError(
                `job "${jobId}" did not exist yet at ${at.toISOString()}: it was enqueued at ${eventTime(events[0]!.event)}`,
              );
            const lastAt = eventTime(past.last.event);
            io.out(
              opts.json
                ? JSON.stringify(
                    {
                      at: at.toISOString(),
                      revision: past.last.revision,
                      lastEvent: past.last.event.type,
                      lastEventAt: lastAt,
                      view: past.view,
                    },
                    null,
                    2,
                  )
                : `as of ${at.toISOString()}: revision ${past.last.revision} (${past.last.event.type} at ${lastAt}), ${past.folded} of ${past.total} events\n${formatView(past.view)}`,
            );
            return;
          }
          io.out(opts.json ? events.map(historyJsonLine).join('\n') : formatHistory(events));
        },
        { recover: false, readOnly: true },
      );
    });
};

/** Prints the history, then each new event, until the job is final (0) or a signal stops it (130). */
const followHistory = async (io: Io, engine: Engine, jobId: string, json: boolean): Promise<number> => {
  let state: JobState = initialJobState;
  let previous: string | undefined;
  let settle!: (outcome: { final: true } | { error: Error }) => void;
  const outcome = new Promise<{ final: true } | { error: Error }>((resolve) => (settle = resolve));
  const follow = await engine.follow(jobId, {
    onEvent: (r) => {
      io.out(json ? historyJsonLine(r) : formatHistory([r], previous !== undefined ? { previousTime: previous } : {}));
      previous = eventTime(r.event);
      state = evolve(state, r.event);
      if (isFinal(state)) settle({ final: true });
    },
    onError: (error) => settle({ error: new Error(`following job "${jobId}" stopped: ${error.message}`) }),
  });
  const stopWaiting = new AbortController();
  try {
    if (follow.revision < 0) throw new JobNotFoundError(jobId);
    const signal = untilSignal(stopWaiting.signal).then((name) => ({ signal: name }));
    const r = await Promise.race([outcome, signal]);
    if ('error' in r) throw r.error;
    if ('signal' in r) {
      io.err(`jobtrail history: ${r.signal ?? 'stopped'}: stopped following ${jobId} (status ${state.status})`);
      return 130;
    }
    return 0;
  } finally {
    stopWaiting.abort();
    await follow.stop();
  }
};
