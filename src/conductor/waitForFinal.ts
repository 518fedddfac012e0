import { setTimeout as sleep } from 'node:timers/promises';
import { TimeoutError } from '../errors/index.js';
import type { EventStore } from '../eventStore/index.js';
import { endsJob, isFinal, isJobView, jobIdOfStream, jobStreamPrefix, type JobRef, type JobView } from '../job/index.js';
import { storeRead, type JobStore } from '../jobStore/index.js';

export interface WaitForFinalOptions<R> {
  /** Give up (`TimeoutError`) after this many ms. Default: wait as long as it takes. */
  readonly timeoutMs?: number;
  /** Called with each job as it becomes final (and with jobs already final). */
  readonly onChange?: (view: JobView<R>) => void;
}

/**
 * Resolves with the jobs, in the order given, once every one is final
 * (completed, cancelled, or failed for good). It subscribes first, then
 * reads each job's stream, so an event between the two is not missed; after
 * that, only an event that ends one of the jobs makes it read that job again.
 */
export const waitForFinal = async <R>(
  deps: { readonly store: EventStore; readonly jobs: JobStore },
  jobIds: readonly JobRef<R>[],
  options: WaitForFinalOptions<R> = {},
): Promise<readonly JobView<R>[]> => {
  const pending = new Set<string>(jobIds);
  const views = new Map<string, JobView<R>>();
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const check = async (id: string) => {
    const view = (await storeRead(deps.jobs.load(id))).state;
    if (!isJobView(view)) return;
    options.onChange?.(view as JobView<R>);
    if (isFinal(view)) {
      views.set(id, view as JobView<R>);
      pending.delete(id);
      if (pending.size === 0) resolveDone();
    }
  };
  const head = await storeRead(deps.store.headPosition());
  const subscription = deps.store.subscribe(
    { streamPrefix: jobStreamPrefix, ...(head !== undefined ? { after: head } : {}) },
    {
      onEvent: async (e) => {
        // Only an event that ends a job is worth reading the job for; the job's stream, read and decoded, decides.
        const id = jobIdOfStream(e.streamId);
        if (id !== undefined && pending.has(id) && endsJob(e)) await check(id);
      },
    },
  );
  const timeout = new AbortController();
  try {
    for (const id of [...pending]) await check(id);
    if (pending.size > 0) {
      const { timeoutMs } = options;
      await (timeoutMs === undefined
        ? done
        : Promise.race([
            done,
            sleep(timeoutMs, undefined, { signal: timeout.signal }).then(() => {
              throw new TimeoutError(
                `${pending.size} of ${jobIds.length} jobs were not final after ${timeoutMs} ms: ${[...pending].slice(0, 10).join(', ')}`,
              );
            }),
          ]));
    }
  } finally {
    timeout.abort();
    await subscription.stop();
  }
  return jobIds.map((id) => views.get(id)!);
};
