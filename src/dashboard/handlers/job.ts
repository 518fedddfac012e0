import { goneProcessesOf } from '../../conductor/index.js';
import { fold, isJobView } from '../../job/index.js';
import { HttpError, sendHtml, sendJson } from '../http.js';
import { jobPage } from '../pages.js';
import type { RouteOf } from '../routes.js';
import type { Handler } from './handler.js';

/** `/jobs/<id>` and `/api/jobs/<id>`: the job's view folded from its stream, and its whole history. */
export const handleJob: Handler<RouteOf<'job' | 'apiJob'>> = async ({ engine, context }, { res, route }) => {
  const events = await engine.history(route.jobId);
  const state = fold(events.map((e) => e.event));
  if (!isJobView(state)) throw new HttpError(404, `job "${route.jobId}" does not exist (no stream job-${route.jobId})`);
  if (route.kind === 'apiJob') return sendJson(res, 200, { job: state, history: events });
  const gone = await goneProcessesOf(state, engine.processGone?.bind(engine));
  return sendHtml(res, 200, jobPage(context(true), state, events, gone));
};
