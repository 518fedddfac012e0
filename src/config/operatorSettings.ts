import { queueNamePattern, queueNameRule } from '../job/events.js';
import { rateLimitProblems } from '../worker/rateLimit.js';
import { ConfigError } from './config.js';
import { DurationError, parseDuration } from './duration.js';

// Issue 22: the operator keys of `jobtrail.config.json` (docs/running.md#the-project-config-file): `queues` (their
// rate limits, docs/rate-limits.md) and `retention` (docs/retention.md). Checked here, with one line naming the file
// and what is wrong; `jobtrail run` passes them to the engine, and its flags override them.

/** A queue's settings in the file: its rate limit. */
export interface QueueSettings {
  readonly rateLimit?: { readonly max: number; readonly perMs: number };
}

/** `retention` in the file: `'forever'`, one age for all three, or per status (and the purge records' age). */
export type RetentionSettings =
  | 'forever'
  | {
      readonly completed?: string;
      readonly errored?: string;
      readonly cancelled?: string;
      readonly purgeRecordsFor?: string;
    };

const show = (value: unknown): string => {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}…` : text;
};

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `queues`: `{ "<queue>": { "rateLimit": { "max": 10, "perMs": 1000 } } }`. */
export const checkQueuesSetting = (file: string, value: unknown): Readonly<Record<string, QueueSettings>> => {
  if (!isObject(value))
    throw new ConfigError(
      `${file}: "queues" must be an object of queues, e.g. {"partner": {"rateLimit": {"max": 10, "perMs": 1000}}}; got ${show(value)}`,
    );
  const out: Record<string, QueueSettings> = {};
  for (const [name, settings] of Object.entries(value)) {
    if (!queueNamePattern.test(name)) throw new ConfigError(`${file}: "queues": ${show(name)} is not a queue name (${queueNameRule})`);
    if (!isObject(settings))
      throw new ConfigError(
        `${file}: "queues.${name}" must be an object such as {"rateLimit": {"max": 10, "perMs": 1000}}; got ${show(settings)}`,
      );
    const unknown = Object.keys(settings).find((k) => k !== 'rateLimit');
    if (unknown !== undefined) throw new ConfigError(`${file}: "queues.${name}": unknown key ${show(unknown)}; the key is rateLimit`);
    if (settings['rateLimit'] === undefined) {
      out[name] = {};
      continue;
    }
    const limit = settings['rateLimit'];
    const problems = rateLimitProblems(limit, `"queues.${name}.rateLimit"`);
    if (problems.length === 0 && isObject(limit)) {
      const extra = Object.keys(limit).find((k) => k !== 'max' && k !== 'perMs');
      if (extra !== undefined) problems.push(`"queues.${name}.rateLimit": unknown key ${show(extra)}; the keys are max, perMs`);
    }
    if (problems.length > 0) throw new ConfigError(`${file}: ${problems.join('; ')}`);
    const { max, perMs } = limit as { max: number; perMs: number };
    out[name] = { rateLimit: { max, perMs } };
  }
  return out;
};

const retentionKeys = ['completed', 'errored', 'cancelled', 'purgeRecordsFor'] as const;

/** An age as the file writes it: a duration (`"7d"`) or `"forever"`, checked by the parser of `--retention`. */
const checkAge = (file: string, key: string, value: unknown): string => {
  if (value === 'forever') return value;
  if (typeof value !== 'string')
    throw new ConfigError(`${file}: "${key}" must be a duration such as "1d", "12h", "7d", or "forever"; got ${show(value)}`);
  try {
    parseDuration(value, `"${key}"`);
  } catch (error) {
    if (error instanceof DurationError) throw new ConfigError(`${file}: ${error.message}, or "forever"`);
    throw error;
  }
  return value;
};

/** `retention`: `"forever"`, one age for all three (`"12h"`), or `{ "completed": "1d", "errored": "7d", "cancelled": "7d" }`. */
export const checkRetentionSetting = (file: string, value: unknown): RetentionSettings => {
  if (value === 'forever') return 'forever';
  if (typeof value === 'string') {
    const age = checkAge(file, 'retention', value);
    return { completed: age, errored: age, cancelled: age };
  }
  if (!isObject(value))
    throw new ConfigError(
      `${file}: "retention" must be {"completed": "1d", "errored": "7d", "cancelled": "7d"} (ages like "12h", "7d" or "forever"), one age for all, or "forever"; got ${show(value)}`,
    );
  const out: Record<string, string> = {};
  for (const [key, age] of Object.entries(value)) {
    if (!(retentionKeys as readonly string[]).includes(key))
      throw new ConfigError(`${file}: "retention": unknown key ${show(key)}; the keys are ${retentionKeys.join(', ')}`);
    out[key] = checkAge(file, `retention.${key}`, age);
  }
  return out;
};
