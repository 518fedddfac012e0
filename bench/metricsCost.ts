/**
 * `node --import tsx bench/metricsCost.ts [jobs] [rounds]`: what Prometheus metrics (docs/metrics.md) cost a busy
 * engine. Embedded (`sqlite::memory:`, in-process broker), a no-op worker at concurrency 100: a backlog of `jobs`
 * (default 5,000) enqueued with enqueueMany, then drained; rounds alternate metrics off and on (default 3 each), so
 * that a drift in the machine's load hits both alike. Prints the drain rate of each round and the medians.
 */
import { Registry } from 'prom-client';
import { createEngine, defineWorker, JsonPayload } from '../src/index.js';

const jobs = Number(process.argv[2] ?? 5_000);
const rounds = Number(process.argv[3] ?? 3);
const noop = defineWorker({ name: 'noop', payload: JsonPayload, concurrency: 100, action: async () => null });

const round = async (metrics: boolean): Promise<number> => {
  const registry = new Registry();
  const engine = await createEngine({
    store: 'sqlite::memory:',
    workers: [noop],
    sweepIntervalMs: 0,
    heartbeatIntervalMs: 0,
    ...(metrics ? { metrics: { registry } } : {}),
  });
  try {
    const ids: string[] = [];
    for (let i = 0; i < jobs; i += 1_000) {
      const batch = Array.from({ length: Math.min(1_000, jobs - i) }, () => ({ workerName: 'noop', payload: {} }));
      for (const e of await engine.enqueueMany(batch)) ids.push(e.jobId);
    }
    const t0 = performance.now();
    await engine.start();
    await engine.waitForFinal(ids, { timeoutMs: 600_000 });
    const rate = jobs / ((performance.now() - t0) / 1000);
    if (metrics && !(await registry.metrics()).includes(`jobtrail_jobs_completed_total{worker="noop",queue="default"} ${jobs}`))
      throw new Error('the metrics did not count every completion');
    return rate;
  } finally {
    await engine.close({ gracePeriodMs: 0 });
  }
};

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const off: number[] = [];
const on: number[] = [];
await round(false); // warm-up
for (let r = 0; r < rounds; r++) {
  off.push(await round(false));
  on.push(await round(true));
  console.log(`round ${r + 1}: off ${off[r]!.toFixed(0)} jobs/s, on ${on[r]!.toFixed(0)} jobs/s`);
}
const m0 = median(off);
const m1 = median(on);
console.log(
  `median drain of ${jobs} no-op jobs: metrics off ${m0.toFixed(0)} jobs/s, on ${m1.toFixed(0)} jobs/s (${(((m1 - m0) / m0) * 100).toFixed(1)}%)`,
);
