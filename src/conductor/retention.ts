import type { ReadSide } from '../backends/index.js';
import { formatDurationMs, parseDuration } from '../config/index.js';
import { endedAt, type BulkDeps } from './bulk.js';
import { purgeJobs } from './purge.js';
import { defaultPurgeRecordsMs, makePurgeRecordsExpiry } from './purgeRecords.js';

// Retention (docs/retention.md): every started engine purges, now and then, the final jobs older than their
// status's age. Each run looks at a bounded number of jobs; several processes may run it at once (a job purged by
// two at once is purged once: its stream's revision decides, and the second delete finds it gone).

/** An age: ms, a duration text (`1d`, `12h`), or `'forever'` (never purged). */
export type RetentionAge = number | string;

/** How long final jobs are kept, per status; `'forever'` for all of them. */
export type RetentionOption =
  | 'forever'
  | {
      /** Default: `1d`. */
      readonly completed?: RetentionAge;
      /** Failed for good (errored with no retry left). Default: `7d`. */
      readonly errored?: RetentionAge;
      /** Default: `7d`. */
      readonly cancelled?: RetentionAge;
      /** Between two runs of this process (± 20 %). Default: a quarter of the shortest age, from 1 s to 60 s. */
      readonly intervalMs?: number;
      /** Most jobs purged per status in one run. Default: 2000. */
      readonly maxPerRun?: number;
      /**
       * How long the `purges-<day>` records (who purged which job, when, why) are kept, counted from the end of their
       * day. Default: the longest of the three ages and 30 days; `'forever'` when a status is kept `'forever'`.
       */
      readonly purgeRecordsFor?: RetentionAge;
    };

export interface RetentionPolicy {
  /** Age per final status in ms; absent: kept for ever. */
  readonly ages: { readonly completed?: number; readonly errored?: number; readonly cancelled?: number };
  readonly intervalMs: number;
  readonly maxPerRun: number;
  /** How long `purges-<day>` records are kept, in ms; absent: for ever. */
  readonly purgeRecordsMs?: number;
}

export const defaultRetention = { completed: '1d', errored: '7d', cancelled: '7d' } as const;

const age = (value: RetentionAge | undefined, fallback: string, what: string): number | undefined => {
  const v = value ?? fallback;
  if (v === 'forever') return undefined;
  if (typeof v === 'number') {
    if (!(Number.isFinite(v) && v >= 0)) throw new TypeError(`${what}: ${v} is not an age in ms (0 or more), a duration (7d) or 'forever'`);
    return v;
  }
  return parseDuration(v, what);
};

/** The policy of an engine option; throws a `TypeError` naming what is wrong. `undefined`: the defaults. */
export const retentionPolicy = (option: RetentionOption | undefined): RetentionPolicy => {
  if (option === 'forever') return { ages: {}, intervalMs: 60_000, maxPerRun: 2000 };
  const o = option ?? {};
  const ages = {
    completed: age(o.completed, defaultRetention.completed, 'retention.completed'),
    errored: age(o.errored, defaultRetention.errored, 'retention.errored'),
    cancelled: age(o.cancelled, defaultRetention.cancelled, 'retention.cancelled'),
  };
  const finite = Object.values(ages).filter((a): a is number => a !== undefined);
  const intervalMs = o.intervalMs ?? Math.min(60_000, Math.max(1000, Math.floor(Math.min(...finite, 240_000) / 4)));
  if (!(Number.isFinite(intervalMs) && intervalMs > 0))
    throw new TypeError(`retention.intervalMs: ${intervalMs} is not a positive number of ms`);
  const maxPerRun = o.maxPerRun ?? 2000;
  if (!(Number.isInteger(maxPerRun) && maxPerRun > 0))
    throw new TypeError(`retention.maxPerRun: ${maxPerRun} is not a positive whole number`);
  // Purge records: as configured; else kept as long as the longest age (30 days at least), and for ever when a
  // status is kept for ever (its jobs' records then outlive nothing, but someone chose to keep things).
  const purgeRecordsMs =
    o.purgeRecordsFor !== undefined
      ? age(o.purgeRecordsFor, 'forever', 'retention.purgeRecordsFor')
      : finite.length === 3
        ? Math.max(defaultPurgeRecordsMs, ...finite)
        : undefined;
  return {
    ages: Object.fromEntries(Object.entries(ages).filter(([, a]) => a !== undefined)) as RetentionPolicy['ages'],
    intervalMs,
    maxPerRun,
    ...(purgeRecordsMs !== undefined ? { purgeRecordsMs } : {}),
  };
};

/**
 * `--retention` of `jobtrail run`: `forever`, or `completed=1d,errored=7d,cancelled=7d` (any of them; the others
 * keep their defaults), or one duration for all three. Throws a `TypeError` with what is expected.
 */
export const parseRetentionFlag = (text: string): RetentionOption => {
  const s = text.trim();
  if (s === 'forever') return 'forever';
  if (!s.includes('=')) {
    parseDuration(s, '--retention');
    return { completed: s, errored: s, cancelled: s };
  }
  const out: Record<string, string> = {};
  for (const part of s.split(',')) {
    const [key, value, ...rest] = part.split('=').map((x) => x.trim());
    if (rest.length > 0 || value === undefined || !['completed', 'errored', 'cancelled'].includes(key ?? ''))
      throw new TypeError(
        `--retention: ${JSON.stringify(part)} is not status=age; write e.g. completed=1d,errored=7d,cancelled=7d (ages like 30s, 12h, 7d, or forever)`,
      );
    if (value !== 'forever') parseDuration(value, `--retention ${key}`);
    out[key as string] = value;
  }
  return out;
};

/** What one run did. */
export interface RetentionRun {
  readonly looked: number;
  readonly purged: number;
  readonly refused: number;
  readonly undeleted: number;
  /** The `purges-<day>` streams deleted (expired records, `purgeRecordsFor`). */
  readonly purgeRecordsDeleted: number;
}

export interface Retention {
  /** One run now (tests, and the timer); runs do not overlap. */
  run(): Promise<RetentionRun>;
  stop(): Promise<void>;
}

const scanPage = 500;

/** Starts the periodic retention of a started engine; the first run comes after 0.5–1.5 intervals. */
export const startRetention = (deps: BulkDeps, readSide: () => Promise<ReadSide>, policy: RetentionPolicy): Retention => {
  // Oldest enqueued first where the store lists that way (SQLite): a job enqueued after the cutoff cannot have ended
  // before it, so the scan stops there. EventStoreDB lists newest first: the scan goes on from where the last run stopped.
  const cursors = new Map<string, string | undefined>();
  // Purged jobs whose streams are not deleted yet (the read side lagged): they are in no list, so they are kept here
  // and their deletes finished by the next runs of this process.
  let leftover: string[] = [];
  const records = policy.purgeRecordsMs !== undefined ? makePurgeRecordsExpiry(deps, policy.purgeRecordsMs) : undefined;

  const runStatus = async (
    status: 'completed' | 'errored' | 'cancelled',
    ageMs: number,
  ): Promise<Omit<RetentionRun, 'purgeRecordsDeleted'>> => {
    const side = await readSide();
    const now = deps.now().getTime();
    const cutoff = now - ageMs;
    const oldestFirst = deps.store.kind === 'sqlite';
    const due: string[] = [];
    let looked = 0;
    let after = oldestFirst ? undefined : cursors.get(status);
    let exhausted = false;
    scan: for (;;) {
      const page = await side.queries.listJobViews({ status, limit: scanPage, oldestFirst, ...(after !== undefined ? { after } : {}) });
      for (const view of page.jobs) {
        looked += 1;
        if (oldestFirst && Date.parse(view.enqueuedAt) > cutoff) {
          exhausted = true;
          break scan;
        }
        const end = endedAt(view);
        if (end !== undefined && Date.parse(end) <= cutoff) due.push(view.jobId);
        if (due.length >= policy.maxPerRun) break scan;
      }
      after = page.next;
      if (after === undefined) {
        exhausted = true;
        break;
      }
      if (looked >= policy.maxPerRun * 5) break;
    }
    if (!oldestFirst) cursors.set(status, exhausted ? undefined : after);
    if (due.length === 0) return { looked, purged: 0, refused: 0, undeleted: 0 };
    const report = await purgeJobs(deps, readSide, due, {
      by: 'retention',
      reason: `retention: ${status} jobs are kept ${formatDurationMs(ageMs)}`,
      olderThanMs: ageMs,
      retention: true,
    });
    leftover.push(...report.undeletedIds);
    return { looked, purged: report.done, refused: report.refused, undeleted: report.undeleted };
  };

  const finishLeftover = async (): Promise<void> => {
    if (leftover.length === 0) return;
    const ids = leftover.slice(0, policy.maxPerRun);
    leftover = leftover.slice(ids.length);
    const report = await purgeJobs(deps, readSide, ids, { by: 'retention', reason: 'retention: finishing purges', retention: true });
    leftover.push(...report.undeletedIds);
  };

  const runOnce = async (): Promise<RetentionRun> => {
    const total = { looked: 0, purged: 0, refused: 0, undeleted: 0 };
    await finishLeftover();
    for (const status of ['completed', 'errored', 'cancelled'] as const) {
      const ageMs = policy.ages[status];
      if (ageMs === undefined) continue;
      const r = await runStatus(status, ageMs);
      total.looked += r.looked;
      total.purged += r.purged;
      total.refused += r.refused;
      total.undeleted += r.undeleted;
    }
    const expired = records !== undefined ? await records.run(deps.now()) : [];
    if (expired.length > 0) deps.log.info({ streams: expired }, 'retention deleted expired purge records');
    return { ...total, purgeRecordsDeleted: expired.length };
  };

  let running: Promise<RetentionRun> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const run = (): Promise<RetentionRun> =>
    (running ??= runOnce().finally(() => {
      running = undefined;
    }));
  const schedule = (factor: number) => {
    if (stopped || (Object.keys(policy.ages).length === 0 && policy.purgeRecordsMs === undefined)) return;
    timer = setTimeout(async () => {
      timer = undefined;
      let again = false;
      try {
        const r = await run();
        if (r.purged > 0) deps.log.info(r, 'retention purged jobs');
        // A full run: more are due; go on soon rather than after a whole interval.
        again = r.purged >= policy.maxPerRun;
      } catch (error) {
        deps.log.warn({ err: (error as Error).message }, 'the retention run failed; the next one tries again');
      }
      schedule(again ? 0.05 : 0.8 + 0.4 * deps.random());
    }, policy.intervalMs * factor);
    timer.unref();
  };
  schedule(0.5 + deps.random());
  return {
    run,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
};
