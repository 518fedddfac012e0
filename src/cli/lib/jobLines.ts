// `jobtrail enqueue --from jobs.jsonl`: one job per line (issue 23).

/** The fields a line may have; any other is refused (a typo such as "payloads" would otherwise enqueue `{}`). */
export const lineFields = ['worker', 'payload', 'jobId', 'queue', 'runAt', 'priority', 'maxAttempts'] as const;

/** A job read from a line. */
export interface JobLine {
  /** 1-based, as editors count. */
  readonly line: number;
  readonly worker: string;
  readonly payload: unknown;
  readonly jobId?: string;
  readonly queue?: string;
  readonly runAt?: string;
  readonly priority?: number;
  readonly maxAttempts?: number;
}

/** A line that is not a job, and why; nothing of it was sent. */
export interface BadLine {
  readonly line: number;
  readonly reason: string;
}

const shown = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
};

/** Reads one line: `undefined` for a blank line (skipped), else the job or why it is not one. */
export const parseJobLine = (text: string, line: number): JobLine | BadLine | undefined => {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    return { line, reason: `not JSON (${(error as Error).message}): ${trimmed.slice(0, 80)}${trimmed.length > 80 ? '…' : ''}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { line, reason: `a line must be a JSON object such as {"worker":"send-email","payload":{…}}, got ${shown(value)}` };
  const o = value as Record<string, unknown>;
  const problems: string[] = [];
  const unknown = Object.keys(o).filter((k) => !(lineFields as readonly string[]).includes(k));
  if (unknown.length > 0)
    problems.push(
      `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (a line takes ${lineFields.join(', ')})`,
    );
  if (typeof o['worker'] !== 'string' || o['worker'] === '') problems.push(`"worker" must be the worker's name, got ${shown(o['worker'])}`);
  if (!('payload' in o)) problems.push('"payload" is missing (use {} for none)');
  for (const k of ['jobId', 'queue', 'runAt'] as const)
    if (k in o && typeof o[k] !== 'string') problems.push(`"${k}" must be a string, got ${shown(o[k])}`);
  if ('priority' in o && (typeof o['priority'] !== 'number' || !Number.isFinite(o['priority'])))
    problems.push(`"priority" must be a number, got ${shown(o['priority'])}`);
  if ('maxAttempts' in o && (typeof o['maxAttempts'] !== 'number' || !Number.isInteger(o['maxAttempts']) || o['maxAttempts'] < 1))
    problems.push(`"maxAttempts" must be a whole number ≥ 1, got ${shown(o['maxAttempts'])}`);
  if (problems.length > 0) return { line, reason: problems.join('; ') };
  return {
    line,
    worker: o['worker'] as string,
    payload: o['payload'],
    ...(o['jobId'] !== undefined ? { jobId: o['jobId'] as string } : {}),
    ...(o['queue'] !== undefined ? { queue: o['queue'] as string } : {}),
    ...(o['runAt'] !== undefined ? { runAt: o['runAt'] as string } : {}),
    ...(o['priority'] !== undefined ? { priority: o['priority'] as number } : {}),
    ...(o['maxAttempts'] !== undefined ? { maxAttempts: o['maxAttempts'] as number } : {}),
  };
};

export const isBadLine = (v: JobLine | BadLine): v is BadLine => 'reason' in v;
