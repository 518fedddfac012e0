import { join } from 'node:path';
import cliProgress from 'cli-progress';
import type { Engine } from '../engine.js';
import type { JobView } from '../job/index.js';
import { formatDuration, formatHistory } from '../present/index.js';
import { writeCustomersCsv } from './workers.js';

export interface DemoOptions {
  /** Email jobs to enqueue. Default: 300. */
  readonly emails?: number;
  /** CSV import jobs (each a file of 2,000–6,000 rows). Default: 4. */
  readonly imports?: number;
  /** Where the CSV files go. Default: `./.jobtrail/demo`. */
  readonly dataDir?: string;
  /** Give up after this long. Default: 120 000 ms. */
  readonly timeoutMs?: number;
  readonly out: (line: string) => void;
  /** Show a progress bar (on a terminal). Default: whether stderr is a TTY. */
  readonly progressBar?: boolean;
  /** Jobs of an earlier, interrupted run that recovery put back on their way: waited for too. */
  readonly recovered?: readonly string[];
}

export interface DemoSummary {
  readonly jobs: readonly JobView[];
  readonly byStatus: Readonly<Record<string, number>>;
  readonly attempts: number;
  readonly wallMs: number;
  readonly replayed?: string;
}

/**
 * The main job: enqueues some hundreds of jobs of the demo workers on a
 * started engine, shows progress until every one is final, then prints a
 * summary and the replayed history of a job that failed and then succeeded.
 */
export const runDemo = async (engine: Engine, options: DemoOptions): Promise<DemoSummary> => {
  const out = options.out;
  const emails = options.emails ?? 300;
  const imports = options.imports ?? 4;
  const dataDir = options.dataDir ?? join('.jobtrail', 'demo');
  const run = Date.now().toString(36);
  const began = Date.now();

  const ids: string[] = [];
  for (let i = 0; i < imports; i++) {
    const file = join(dataDir, `customers-${run}-${i + 1}.csv`);
    await writeCustomersCsv(file, 2000 + i * 1000, i);
    ids.push(
      (await engine.enqueue('import-csv', { file, chunkSize: 500 }, { jobId: `demo-${run}-import-${i + 1}`, enqueuedBy: 'demo' })).jobId,
    );
  }
  for (let i = 0; i < emails; i++) {
    const to = i % 97 === 13 ? `user${i}@invalid.example` : `user${i}@example.com`;
    const r = await engine.enqueue(
      'send-email',
      { to, subject: `Your invoice #${1000 + i}`, template: 'invoice' },
      { jobId: `demo-${run}-email-${i + 1}`, enqueuedBy: 'demo' },
    );
    ids.push(r.jobId);
  }
  out(`enqueued ${ids.length} jobs (${imports} CSV imports, ${emails} emails) as demo-${run}-*`);
  const earlier = (options.recovered ?? []).filter((id) => !ids.includes(id));
  if (earlier.length > 0) {
    out(`also finishing ${earlier.length} jobs that an earlier run left unfinished`);
    ids.push(...earlier);
  }

  const useBar = options.progressBar ?? process.stderr.isTTY === true;
  const bar = useBar
    ? new cliProgress.SingleBar(
        { format: ' {bar} {value}/{total} jobs final | {eta_formatted} left', hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const final = new Set<string>();
  bar?.start(ids.length, 0);
  let lastLine = 0;
  const views = await engine
    .waitForFinal(ids, {
      timeoutMs: options.timeoutMs ?? 120_000,
      onChange: (v) => {
        if (v.status === 'completed' || v.status === 'cancelled' || (v.status === 'errored' && v.retryAt === undefined)) final.add(v.jobId);
        bar?.update(final.size);
        if (!bar && Date.now() - lastLine > 1000) {
          lastLine = Date.now();
          out(`  ${final.size}/${ids.length} jobs final`);
        }
      },
    })
    .finally(() => bar?.stop());
  const wallMs = Date.now() - began;

  const byStatus: Record<string, number> = {};
  let attempts = 0;
  for (const v of views) {
    const key = v.status === 'errored' ? 'failed for good' : v.status;
    byStatus[key] = (byStatus[key] ?? 0) + 1;
    attempts += v.attempts;
  }
  out('');
  out(`all ${views.length} jobs are final after ${formatDuration(wallMs)} (${(views.length / (wallMs / 1000)).toFixed(1)} jobs/s)`);
  for (const [status, n] of Object.entries(byStatus)) out(`  ${status.padEnd(16)} ${n}`);
  out(`  ${'attempts'.padEnd(16)} ${attempts} (${attempts - views.length} retries)`);
  for (const worker of ['import-csv', 'send-email']) {
    const mine = views.filter((v) => v.workerName === worker);
    const retried = mine.filter((v) => v.attempts > 1 && v.status === 'completed').length;
    out(`  ${worker.padEnd(16)} ${mine.length} jobs, ${retried} succeeded after a retry`);
  }

  const story =
    views.find((v) => v.status === 'completed' && v.attempts >= 3) ?? views.find((v) => v.status === 'completed' && v.attempts > 1);
  let replayed: string | undefined;
  if (story) {
    replayed = formatHistory(await engine.history(story.jobId), { stacks: false });
    out('');
    out(`the replayed history of ${story.jobId}, which failed and then succeeded (jobtrail history ${story.jobId}):`);
    out(replayed);
  }
  return { jobs: views, byStatus, attempts, wallMs, ...(replayed !== undefined ? { replayed } : {}) };
};
