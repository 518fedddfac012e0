import { readFileSync } from 'node:fs';

const statusKb = (field: 'VmHWM' | 'VmRSS'): number | undefined => {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return m?.[1] === undefined ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
};

export const mb = (bytes: number): number => Math.round((bytes / (1024 * 1024)) * 10) / 10;

/** This process's resident set now, in MB. */
export const rssMb = (): number => mb(process.memoryUsage.rss());

/**
 * This process's peak resident set since it started, in MB: the kernel's
 * high-water mark (`VmHWM` in /proc/self/status), which misses no short peak;
 * falls back to a sampled peak where /proc is not there.
 */
export const makePeakRss = (sampleMs = 100): { peakMb(): number; stop(): void } => {
  let sampled = process.memoryUsage.rss();
  const timer = setInterval(() => {
    sampled = Math.max(sampled, process.memoryUsage.rss());
  }, sampleMs);
  timer.unref();
  return {
    peakMb: () => {
      const hwm = statusKb('VmHWM');
      return hwm !== undefined ? Math.round((hwm / 1024) * 10) / 10 : mb(Math.max(sampled, process.memoryUsage.rss()));
    },
    stop: () => clearInterval(timer),
  };
};
