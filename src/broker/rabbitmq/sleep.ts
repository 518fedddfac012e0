import { setTimeout as wait } from 'node:timers/promises';

/** Waits `ms`, or until `signal` aborts (at once if it already has); never rejects. The adapter's one pause. */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  wait(ms, undefined, signal === undefined ? {} : { signal }).catch(() => undefined);
