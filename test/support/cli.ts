import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const root = fileURLToPath(new URL('../../', import.meta.url));
/** `dist/cli/bin.js`, the compiled command as a user runs it (package.json's `bin`; `npm test` builds it first). */
export const jobtrailBin = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));
/**
 * JOBTRAIL_TEST_CLI=source runs src/cli/bin.ts through tsx instead of the compiled dist/ (no build needed; each
 * start is slower): for checking a change to the CLI without `npm run build`.
 */
const nodeArgs: readonly string[] =
  process.env.JOBTRAIL_TEST_CLI === 'source'
    ? ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url))]
    : [jobtrailBin];

export interface Ran {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `jobtrail …` in a child process and collects its output. Killed after `timeoutMs` (default 60 s). */
export const runJobtrail = (
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number; cwd?: string; input?: string } = {},
): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const child = spawnJobtrail(args, options);
    if (options.input !== undefined) child.stdin!.end(options.input);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });

/** Starts `jobtrail …` without waiting; the caller ends it. */
export const spawnJobtrail = (
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; input?: string } = {},
): ChildProcess =>
  spawn(process.execPath, [...nodeArgs, ...args], {
    cwd: options.cwd ?? root,
    env: { ...process.env, JOBTRAIL_LOG_LEVEL: 'warn', ...options.env },
    stdio: [options.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
