import type { Spread } from './stats.js';

const group = (n: number): string => Math.round(n).toLocaleString('en-US');

/** A count or rate: 12,345 / 1,234 / 12.3. */
export const num = (n: number): string => (Math.abs(n) >= 100 ? group(n) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2));

export const cell = (s: Spread | undefined, unit = ''): string =>
  s === undefined ? '—' : `${num(s.median)}${unit} (${num(s.min)}–${num(s.max)})`;

/** A plain text table: the first column left-aligned, the others right-aligned. */
export const table = (header: readonly string[], rows: readonly (readonly string[])[]): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
};
