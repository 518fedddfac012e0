// A fixed history for projections/job-throughput.js (parity with KurrentDB's
// runtime, the fake EventStoreDB): 35 days of events of every kind it counts,
// mostly in time order, some late by minutes or by days, some written with an
// offset (`+05:30`, `-08:00`), one with a time no one can read, and events it
// ignores. Deterministic: no clock, no randomness.
import type { ProjectionEvent } from '../../src/projections/index.js';

const base = Date.UTC(2026, 2, 1, 0, 0);
const kinds = ['enqueued', 'completed', 'errored', 'completed', 'failed', 'enqueued', 'cancelled', 'started'] as const;

/** `ms` written as ISO-8601 in a zone `offset` minutes east of UTC. */
export const isoWithOffset = (ms: number, offset: number): string => {
  if (offset === 0) return new Date(ms).toISOString();
  const local = new Date(ms + offset * 60_000).toISOString().slice(0, 23);
  const a = Math.abs(offset);
  return `${local}${offset < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
};

/** The fixed history, as a projection receives it. */
export const throughputEvents = (): ProjectionEvent[] => {
  const out: ProjectionEvent[] = [];
  const push = (n: number, kind: (typeof kinds)[number] | 'unreadable', time: string) => {
    const jobId = `tp-${n}`;
    const [type, data] =
      kind === 'enqueued'
        ? ['JobEnqueued', { jobId, workerName: `w${n % 3}`, queue: 'default', payload: { n }, maxAttempts: 3, enqueuedAt: time }]
        : kind === 'completed'
          ? ['JobCompleted', { attempt: 1, completedAt: time, durationMs: n % 97 }]
          : kind === 'failed' || kind === 'unreadable'
            ? ['JobErrored', { attempt: 3, erroredAt: time, error: { name: 'Error', message: `boom ${n}` } }]
            : kind === 'errored'
              ? ['JobErrored', { attempt: 1, erroredAt: time, error: { name: 'Error', message: `boom ${n}` }, retryAt: time }]
              : kind === 'cancelled'
                ? ['JobCancelled', { at: time }]
                : ['JobStarted', { attempt: 1, workerId: 'h:1:r', backgroundJobId: `m${n}`, startedAt: time }];
    out.push({ streamId: `job-${jobId}`, revision: 0, type, data, metadata: {}, isJson: true, position: String(out.length + 1) });
  };
  let n = 0;
  // Every 37 minutes for 35 days, a burst of 3 at every 10th step.
  for (let m = 0; m < 35 * 1440; m += 37) {
    const step = m / 37;
    const times = step % 10 === 0 ? 3 : 1;
    for (let k = 0; k < times; k++) {
      n += 1;
      const offset = n % 11 === 0 ? 330 : n % 13 === 0 ? -480 : 0;
      // Every 17th event is late by 3 minutes; every 101st by 2 days.
      const late = n % 101 === 0 ? 2 * 86_400_000 : n % 17 === 0 ? 180_000 : 0;
      push(n, kinds[n % kinds.length] as (typeof kinds)[number], isoWithOffset(base + m * 60_000 + k * 7_000 - late, offset));
    }
  }
  push(n + 1, 'unreadable', 'not a time');
  return out;
};
