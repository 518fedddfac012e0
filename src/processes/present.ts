import type { ProcessSummary } from './reader.js';

/** "4 s ago", "3 min ago", "2 h ago", "5 d ago": how long before `now` the time `iso` was. */
export const ago = (iso: string | undefined, now: number): string => {
  if (iso === undefined) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
};

/** `running`, `stopped`, `gone (1 attempt recovered)`, `gone (recovery pending)`, `gone`. */
export const statusText = (p: ProcessSummary): string => {
  if (p.status !== 'gone') return p.status;
  if (p.recovery === 'recovered') return `gone (${p.recovered.length} attempt${p.recovered.length === 1 ? '' : 's'} recovered)`;
  if (p.recovery === 'pending') return 'gone (recovery pending)';
  return 'gone';
};

/** `hello×2, shout×10`: each worker and its concurrency. */
export const concurrencyText = (p: ProcessSummary): string =>
  p.workers === undefined || p.workers.length === 0 ? '—' : p.workers.map((w) => `${w.name}×${w.concurrency}`).join(', ');
