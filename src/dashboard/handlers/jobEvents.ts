import { HttpError } from '../http.js';
import { parseRevision } from '../requests.js';
import type { RouteOf } from '../routes.js';
import type { Handler } from './handler.js';

/** `/events/jobs/<id>`: the job's events after `?after=` (or `Last-Event-ID`, when the browser reconnects), as they are appended. */
export const handleJobEvents: Handler<RouteOf<'jobEvents'>> = async ({ engine, live }, { req, res, url, route }) => {
  const after = Math.max(
    parseRevision(url.searchParams.get('after'), 'after'),
    parseRevision(req.headers['last-event-id'] as string | undefined, 'Last-Event-ID'),
  );
  if ((await engine.getJob(route.jobId)) === undefined) throw new HttpError(404, `job "${route.jobId}" does not exist`);
  await live.streamJob(req, res, route.jobId, after);
};
