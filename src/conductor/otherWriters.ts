import * as E from 'fp-ts/lib/Either.js';
import type { EventStore, Subscription } from '../eventStore/index.js';
import { isJobView, jobIdOfStream, jobStreamPrefix } from '../job/index.js';
import { publishAttempt, type ConductorDeps } from './dispatch.js';

/**
 * Where the broker does not reach other processes (the in-process one), the
 * jobs that other processes sharing the store enqueue or retry (the CLI,
 * another `jobtrail run`) are seen in the store and dispatched here. A
 * duplicate dispatch is harmless: the job's stream decides what it means.
 * Only events after `after` (the head when the engine started) are
 * considered; recovery covers what came before.
 */
export const watchOtherWriters = (deps: ConductorDeps & { readonly store: EventStore }, after: string | undefined): Subscription =>
  deps.store.subscribe(
    // Only other processes' jobs matter here: the SQLite store then skips this process's own commits
    // without reading them back (a large share of the CPU otherwise).
    { streamPrefix: jobStreamPrefix, ...(after !== undefined ? { after } : {}), skipOwnAppends: true },
    {
      onEvent: async (e) => {
        // Still needed: other stores deliver our own events, and so does SQLite for what was appended before the subscription started.
        if (e.metadata['origin'] === deps.processId) return;
        if (e.type !== 'JobEnqueued' && !(e.type === 'JobReset' && (e.data as { reason?: string }).reason === 'manual')) return;
        const id = jobIdOfStream(e.streamId);
        if (id === undefined) return;
        const loaded = await deps.jobs.load(id)();
        if (E.isLeft(loaded))
          return deps.log.error({ jobId: id, err: loaded.left.message }, 'could not read a job enqueued by another process');
        const view = loaded.right.state;
        if (!isJobView(view) || view.status !== 'initial') return;
        const delay = view.attempts === 0 && view.runAt !== undefined ? Date.parse(view.runAt) - deps.now().getTime() : 0;
        const r = await publishAttempt(deps, view, view.attempts + 1, delay);
        if (E.isLeft(r)) deps.log.error({ jobId: id, err: r.left.message }, 'could not dispatch a job enqueued by another process');
      },
      onError: (error) => deps.log.error({ err: error.message }, 'stopped watching the store for jobs of other processes'),
    },
  );
