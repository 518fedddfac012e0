// Durations as people write them on a command line or in a config: `7d`, `12h`, `30m`, `45s`, `500ms`, or a
// combination (`1d12h`). Strict: a unit is required, and anything else is refused with what was expected.

const units: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const whole = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/** Why a duration was refused: the text and what is expected instead. */
export class DurationError extends TypeError {
  constructor(
    readonly text: string,
    what = 'a duration',
  ) {
    super(
      `${what}: ${JSON.stringify(text)} is not a duration; write a number and a unit, as 30s, 15m, 12h, 7d, 2w or 500ms (units may be combined: 1d12h)`,
    );
    this.name = 'DurationError';
  }
}

/** Milliseconds in `text` (`7d`, `12h`, `30m`, `1d12h`, `0s`); throws {@link DurationError} for anything else. */
export const parseDuration = (text: string, what?: string): number => {
  const s = typeof text === 'string' ? text.trim() : '';
  if (!whole.test(s)) throw new DurationError(String(text), what);
  let ms = 0;
  for (const [, n, unit] of s.matchAll(part)) ms += Number(n) * (units[unit as string] as number);
  if (!Number.isFinite(ms)) throw new DurationError(String(text), what);
  return Math.round(ms);
};

/** `604800000` → `7d`, `5400000` → `1h30m`: the shortest exact form, for messages. */
export const formatDurationMs = (ms: number): string => {
  if (ms === 0) return '0s';
  let left = Math.round(ms);
  let out = '';
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    if (left >= size) {
      out += `${Math.floor(left / size)}${unit}`;
      left %= size;
    }
  }
  return out;
};
