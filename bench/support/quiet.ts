import { loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { sleep } from './clock.js';

const cpuTimes = (): { busy: number; total: number } | undefined => {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
};

/** Share of all cores busy over `ms` (0..1); undefined without /proc. */
export const cpuBusy = async (ms = 1000): Promise<number | undefined> => {
  const a = cpuTimes();
  await sleep(ms);
  const b = cpuTimes();
  if (!a || !b || b.total === a.total) return undefined;
  return (b.busy - a.busy) / (b.total - a.total);
};

/**
 * Waits (up to `maxWaitMs`) until the machine is quiet: less than `threshold`
 * of its CPU busy over a second. Benchmarks on 2 cores are meaningless while
 * something else (a test run, a build) takes a core. Returns what it saw.
 */
export const waitForQuiet = async (
  options: { readonly threshold?: number; readonly maxWaitMs?: number; readonly log?: (line: string) => void } = {},
): Promise<{ busy: number | undefined; waitedMs: number; quiet: boolean }> => {
  const threshold = options.threshold ?? 0.25;
  const maxWaitMs = options.maxWaitMs ?? 60_000;
  const started = Date.now();
  let warned = false;
  for (;;) {
    const busy = await cpuBusy(1000);
    const waitedMs = Date.now() - started;
    if (busy === undefined || busy < threshold) return { busy, waitedMs, quiet: true };
    if (waitedMs >= maxWaitMs) {
      options.log?.(
        `  ! the machine stayed busy (${Math.round(busy * 100)}% CPU, load ${loadavg()[0]?.toFixed(2)}) for ${Math.round(waitedMs / 1000)} s: measuring anyway; this run is marked noisy`,
      );
      return { busy, waitedMs, quiet: false };
    }
    if (!warned) {
      options.log?.(`  … waiting for the machine to be quiet (${Math.round(busy * 100)}% CPU busy by other processes)`);
      warned = true;
    }
  }
};
