// `jobtrail enqueue --from <file|->`: every line a job, in batches, with a progress bar on a terminal and a
// summary at the end (issue 23). A bad line is reported with its number and reason; the others still go.
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import cliProgress from 'cli-progress';
import type { Io } from '../context.js';
import { UserError } from '../errors.js';
import { isBadLine, parseJobLine, type BadLine, type JobLine } from './jobLines.js';
import type { Outcome, Sink } from './enqueueSinks.js';

export interface EnqueueFromOptions {
  /** One JSON line per job, then a summary line, on stdout. */
  readonly json: boolean;
  /** Printed once first when the jobs are not checked here (RabbitMQ without workers). */
  readonly unchecked: string | undefined;
  /** Where the lines come from when `from` is "-". Default: process.stdin. */
  readonly stdin?: NodeJS.ReadableStream;
  /** Whether stderr is a terminal (a progress bar) or not (a plain line every few seconds). Default: process.stderr.isTTY. */
  readonly tty?: boolean;
}

/** Counts the lines of a file without keeping it (for the progress bar's total). */
const countLines = async (path: string): Promise<number> => {
  let n = 0;
  let last = 10;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
    last = chunk[chunk.length - 1] ?? last;
  }
  return last === 10 ? n : n + 1;
};

/** Enqueues the jobs of `from`; returns the exit code: 1 when a line was rejected, else 0. */
export const enqueueFrom = async (io: Io, sink: Sink, from: string, options: EnqueueFromOptions): Promise<number> => {
  let input: NodeJS.ReadableStream;
  let total: number | undefined;
  if (from === '-') input = options.stdin ?? process.stdin;
  else {
    try {
      if (!statSync(from).isFile()) throw new UserError(`--from ${from} is not a file`, 2);
    } catch (error) {
      if (error instanceof UserError) throw error;
      throw new UserError(
        `--from ${from}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); nothing was enqueued`,
        2,
      );
    }
    total = await countLines(from);
    input = createReadStream(from, 'utf8');
  }
  if (options.unchecked !== undefined) io.err(`jobtrail enqueue: ${options.unchecked}`);

  const tty = options.tty ?? process.stderr.isTTY === true;
  const bar =
    tty && !options.json
      ? new cliProgress.SingleBar(
          {
            format: total !== undefined ? 'enqueue |{bar}| {value}/{total} lines | {rate}' : 'enqueue {value} lines | {rate}',
            stream: process.stderr,
            hideCursor: true,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  bar?.start(total ?? 0, 0, { rate: '' });
  const started = Date.now();
  let lastPlain = started;

  const counts = { created: 0, duplicate: 0, sent: 0, unanswered: 0 };
  const rejected: BadLine[] = [];
  const warnings = new Map<string, { text: string; jobs: number }>();
  let read = 0;
  let batch: JobLine[] = [];
  let batchIds = new Set<string>();
  /** The last line of the last batch sent and answered. */
  let doneThrough = 0;

  const record = (o: Outcome): void => {
    if (o.result === 'rejected') rejected.push({ line: o.line, reason: o.reason });
    else {
      counts[o.result]++;
      // The same warning for many jobs (a queue nothing consumes) is printed once, with how many jobs it concerns.
      if ((o.result === 'created' || o.result === 'duplicate') && o.warnings)
        for (const w of o.warnings) {
          const key = w.split(o.jobId).join('<jobId>');
          const seen = warnings.get(key);
          warnings.set(key, seen === undefined ? { text: w, jobs: 1 } : { text: seen.text, jobs: seen.jobs + 1 });
        }
    }
    if (options.json) io.out(JSON.stringify(o.result === 'rejected' ? { line: o.line, result: o.result, reason: o.reason } : o));
  };
  const progress = (): void => {
    const done = read;
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? `${Math.round(done / seconds)} lines/s` : '';
    if (bar !== undefined) {
      if (total === undefined) bar.setTotal(done);
      bar.update(done, { rate });
    } else if (!options.json && Date.now() - lastPlain >= 5_000) {
      lastPlain = Date.now();
      io.err(
        `jobtrail enqueue: ${done}${total !== undefined ? ` of ${total}` : ''} lines read, ${counts.created} enqueued, ${rejected.length} rejected`,
      );
    }
  };
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const jobs = batch;
    batch = [];
    batchIds = new Set();
    for (const o of await sink.send(jobs)) record(o);
    doneThrough = jobs[jobs.length - 1]!.line;
    progress();
  };

  try {
    const lines = createInterface({ input, crlfDelay: Infinity });
    let n = 0;
    for await (const text of lines) {
      n++;
      read = n;
      const parsed = parseJobLine(text, n);
      if (parsed === undefined) continue;
      if (isBadLine(parsed)) {
        record({ line: parsed.line, result: 'rejected', reason: parsed.reason });
        continue;
      }
      // The same job id twice in one batch would refuse the batch: the first goes before the second is read into one.
      if (parsed.jobId !== undefined && batchIds.has(parsed.jobId)) await flush();
      batch.push(parsed);
      if (parsed.jobId !== undefined) batchIds.add(parsed.jobId);
      if (batch.length >= sink.batchSize) await flush();
    }
    await flush();
  } catch (error) {
    bar?.stop();
    // What stops everything (the store or broker gone): say exactly how far it went.
    const sent = counts.created + counts.duplicate + counts.sent + counts.unanswered;
    io.err(
      `jobtrail enqueue: stopped after reading line ${read}: the jobs of lines 1 to ${doneThrough} are done (${sent} enqueued or sent, ${rejected.length} rejected); ` +
        `those of the later lines may or may not be recorded: enqueue the file again (a line with a jobId never makes a second job)`,
    );
    throw error;
  }
  bar?.stop();

  rejected.sort((a, b) => a.line - b.line);
  const parts = [
    `enqueued ${counts.created}`,
    `duplicates ${counts.duplicate} (job id existed already: nothing new)`,
    ...(counts.sent > 0 ? [`sent without waiting for an answer ${counts.sent}`] : []),
    ...(counts.unanswered > 0 ? [`sent but not yet answered ${counts.unanswered}`] : []),
    `rejected ${rejected.length}`,
  ];
  if (options.json)
    io.out(
      JSON.stringify({
        summary: {
          lines: read,
          enqueued: counts.created,
          duplicates: counts.duplicate,
          sent: counts.sent,
          unanswered: counts.unanswered,
          rejected: rejected.length,
        },
      }),
    );
  else {
    io.out(`${parts.join(', ')}${rejected.length > 0 ? ' (nothing of a rejected line was recorded):' : ''}`);
    for (const r of rejected) io.out(`  line ${r.line}: ${r.reason}`);
  }
  for (const [key, w] of warnings) io.err(`jobtrail: warning: ${w.jobs === 1 ? w.text : `${key} (${w.jobs} jobs)`}`);
  if (counts.unanswered > 0)
    io.err(
      `jobtrail: warning: ${counts.unanswered} commands were not answered in time: they stay in jobtrail.enqueue and make their jobs when a jobtrail run process takes them; ` +
        'sending the file again makes no second job for lines with a jobId',
    );
  return rejected.length > 0 ? 1 : 0;
};
