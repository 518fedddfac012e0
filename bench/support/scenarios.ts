import { now, withTimeout } from './clock.js';
import { summariseLatencies, type LatencySummary } from './stats.js';
import type { BenchJob, SystemUnderTest } from './system.js';

/** Jobs per bulk call: the "batches of 1,000". */
export const batchSize = 1000;

export type EnqueueMode = 'bulk' | 'one';

/** What one child process measures, on a fresh queue / schema / store file. */
export type Scenario =
  /** Enqueue `n` (timed), then start the worker at `concurrency` and drain the backlog (timed). */
  | { readonly kind: 'enqueueDrain'; readonly n: number; readonly enqueue: EnqueueMode; readonly concurrency: number }
  /** Worker running first; time from the first enqueue to the last recorded completion. */
  | { readonly kind: 'e2e'; readonly n: number; readonly enqueue: EnqueueMode; readonly concurrency: number }
  /** Open-loop producer at `rate` jobs/s for `seconds`; enqueue-to-start latency of the jobs after the warm-up. */
  | {
      readonly kind: 'latency';
      readonly rate: number;
      readonly seconds: number;
      readonly warmupSeconds: number;
      readonly concurrency: number;
    };

export interface ScenarioResult {
  /** Jobs/s of the enqueue phase. */
  readonly enqueueRate?: number;
  /** Jobs/s of draining the backlog, from starting the worker to the last completion. */
  readonly drainRate?: number;
  /** Jobs/s from the first enqueue to the last completion. */
  readonly e2eRate?: number;
  readonly seconds?: number;
  readonly latency?: LatencySummary & {
    readonly offeredRate: number;
    /** Completions per second over the run. */
    readonly achievedRate: number;
    readonly scheduled: number;
    readonly completed: number;
    /** Most enqueue calls outstanding at once: a system that keeps up keeps this small. */
    readonly maxOutstanding: number;
  };
}

const makeCompletions = () => {
  let count = 0;
  let target = Number.POSITIVE_INFINITY;
  let wake: (() => void) | undefined;
  return {
    onCompleted: () => {
      count += 1;
      if (count >= target) wake?.();
    },
    get count() {
      return count;
    },
    /** Resolves when `n` completions were seen; rejects after `timeoutMs` saying how many were. */
    waitFor: async (n: number, timeoutMs: number, what: string): Promise<void> => {
      if (count >= n) return;
      target = n;
      const reached = new Promise<void>((resolve) => (wake = resolve));
      await withTimeout(reached, timeoutMs, `${what}: only ${count} of ${n} jobs completed within ${Math.round(timeoutMs / 1000)} s`).catch(
        (error: unknown) => {
          throw new Error(`${(error as Error).message} (completed ${count})`);
        },
      );
    },
  };
};

const enqueueAll = async (sut: SystemUnderTest, n: number, mode: EnqueueMode): Promise<void> => {
  if (mode === 'bulk') {
    for (let from = 0; from < n; from += batchSize) {
      const t = now();
      const jobs: BenchJob[] = [];
      for (let i = from; i < Math.min(n, from + batchSize); i++) jobs.push({ i, t });
      await sut.enqueueBatch(jobs);
    }
  } else {
    for (let i = 0; i < n; i++) await sut.enqueueOne({ i, t: now() });
  }
};

/** At least `floorMs`, or the time `n` jobs take at `slowestRate` jobs/s. */
const budget = (n: number, slowestRate: number, floorMs = 60_000) => Math.max(floorMs, (n / slowestRate) * 1000);

export const runScenario = async (sut: SystemUnderTest, scenario: Scenario, slowestRate: number): Promise<ScenarioResult> => {
  const completions = makeCompletions();
  const noop = () => undefined;
  switch (scenario.kind) {
    case 'enqueueDrain': {
      const t0 = now();
      await withTimeout(
        enqueueAll(sut, scenario.n, scenario.enqueue),
        budget(scenario.n, slowestRate),
        `enqueueing ${scenario.n} (${scenario.enqueue}) took too long`,
      );
      const t1 = now();
      await sut.startWorker({ onStart: noop, onCompleted: completions.onCompleted });
      await completions.waitFor(scenario.n, budget(scenario.n, slowestRate), `draining at concurrency ${scenario.concurrency}`);
      await sut.settle?.();
      const t2 = now();
      return { enqueueRate: scenario.n / ((t1 - t0) / 1000), drainRate: scenario.n / ((t2 - t1) / 1000), seconds: (t2 - t0) / 1000 };
    }
    case 'e2e': {
      await sut.startWorker({ onStart: noop, onCompleted: completions.onCompleted });
      const t0 = now();
      const producing = enqueueAll(sut, scenario.n, scenario.enqueue);
      await withTimeout(
        Promise.all([producing, completions.waitFor(scenario.n, budget(scenario.n, slowestRate), `end to end (${scenario.enqueue})`)]),
        budget(scenario.n, slowestRate) + 5_000,
        `end to end (${scenario.enqueue}) took too long`,
      );
      await sut.settle?.();
      const t1 = now();
      return { e2eRate: scenario.n / ((t1 - t0) / 1000), seconds: (t1 - t0) / 1000 };
    }
    case 'latency': {
      const total = Math.round(scenario.rate * scenario.seconds);
      const warmup = Math.round(scenario.rate * scenario.warmupSeconds);
      const latencies = new Float64Array(total);
      let recorded = 0;
      await sut.startWorker({
        onStart: (job) => {
          if (job.i >= warmup && recorded < total) latencies[recorded++] = now() - job.t;
        },
        onCompleted: completions.onCompleted,
      });
      const interval = 1000 / scenario.rate;
      const t0 = now() + 20;
      let next = 0;
      let outstanding = 0;
      let maxOutstanding = 0;
      let failures = 0;
      // Open loop: every job is sent at its time on a fixed clock, whether or not the
      // earlier ones were accepted; its latency counts from that scheduled time.
      await new Promise<void>((resolve) => {
        const tick = () => {
          const at = now();
          while (next < total && t0 + next * interval <= at) {
            const job: BenchJob = { i: next, t: t0 + next * interval };
            next += 1;
            outstanding += 1;
            maxOutstanding = Math.max(maxOutstanding, outstanding);
            sut.enqueueOne(job).then(
              () => (outstanding -= 1),
              () => {
                outstanding -= 1;
                failures += 1;
              },
            );
          }
          if (next < total) setTimeout(tick, Math.max(0, Math.min(interval, t0 + next * interval - now())));
          else resolve();
        };
        tick();
      });
      // A system that cannot keep up is given a bounded time to finish; `completed` then says how far it got.
      await completions.waitFor(total, Math.max(30_000, scenario.seconds * 3000), 'latency run').catch(() => undefined);
      await sut.settle?.();
      const t1 = now();
      if (failures > 0) throw new Error(`${failures} enqueues failed during the latency run`);
      const summary = summariseLatencies(latencies.subarray(0, recorded));
      return {
        latency: {
          ...summary,
          offeredRate: scenario.rate,
          achievedRate: completions.count / ((t1 - t0) / 1000),
          scheduled: total,
          completed: completions.count,
          maxOutstanding,
        },
        seconds: (t1 - t0) / 1000,
      };
    }
  }
};
