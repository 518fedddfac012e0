import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildResult, ChildSpec } from './child.js';

const childPath = fileURLToPath(new URL('./child.ts', import.meta.url));

/**
 * Runs one measurement in a child process (`node --import tsx`), killing it
 * after `timeoutMs`. Never rejects: a crash or a timeout is a failed result.
 */
export const runInChild = (
  spec: ChildSpec,
  options: {
    readonly timeoutMs: number;
    readonly execArgv?: readonly string[];
    /** A compiled child.js to run with plain node instead of child.ts under tsx (the profile uses it). */
    readonly compiledChild?: string;
  },
): Promise<ChildResult> =>
  new Promise((resolve) => {
    let result: ChildResult | undefined;
    let timedOut = false;
    const child = fork(options.compiledChild ?? childPath, [JSON.stringify(spec)], {
      execArgv: [...(options.compiledChild === undefined ? ['--import', 'tsx'] : []), ...(options.execArgv ?? [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('message', (message) => {
      result = message as ChildResult;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (result !== undefined) resolve(result);
      else if (timedOut) resolve({ ok: false, error: `killed after ${Math.round(options.timeoutMs / 1000)} s (the run's time bound)` });
      else resolve({ ok: false, error: `the child process exited (${signal ?? `code ${code}`}) without a result` });
    });
  });
