/**
 * Waits until `predicate` holds, polling every `intervalMs` (default 10), or
 * fails after `timeoutMs` saying what it waited for. For asserting outcomes
 * that arrive asynchronously without sleeping and hoping.
 */
export const waitFor = async (
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what = 'a condition',
  intervalMs = 10,
): Promise<void> => {
  const started = Date.now();
  for (;;) {
    if (await predicate()) return;
    if (Date.now() - started >= timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
};

/** Resolves after `ms`; only for observing that something does NOT happen within a window. */
export const observeFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
