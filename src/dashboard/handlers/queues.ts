import { ErrorCodes, isJobtrailError } from '../../errors/index.js';
import { HttpError, sendHtml, sendJson, wantsJson } from '../http.js';
import { queuesPage } from '../queuesPage.js';
import { checkText } from '../requests.js';
import type { RouteOf } from '../routes.js';
import { authorizeAction } from './action.js';
import type { Handler } from './handler.js';

/** `GET /queues` (the Queues page) and `/api/queues` (the same as JSON). */
export const handleQueues: Handler<RouteOf<'queues' | 'apiQueues'>> = async ({ engine, context }, { req, res, url, route }) => {
  const queues = engine.listQueues ? await engine.listQueues() : undefined;
  if (route.kind === 'apiQueues' || wantsJson(req, url)) return sendJson(res, 200, { ok: true, queues: queues ?? [] });
  sendHtml(res, 200, queuesPage(context(true), queues));
};

/**
 * `POST /api/queues/<name>/pause|resume`: the same checks as a job's retry and cancel (same origin, the token, the CSRF
 * token for an ambient credential); the "acting as" name is recorded as `by`, the reason as `reason`.
 */
export const handleQueueAction: Handler<RouteOf<'queueAction'>> = async (deps, { req, res, route }) => {
  const { engine, log } = deps;
  const body = await authorizeAction(deps, req);
  const by = checkText('by', body.by, 100) ?? 'dashboard';
  const reason = checkText('reason', body.reason, 500);
  const act = route.action === 'pause' ? engine.pauseQueue : engine.resumeQueue;
  if (act === undefined) throw new HttpError(404, 'this engine offers no queue controls');
  try {
    const r = await act.call(engine, route.queue, { by, ...(reason !== undefined ? { reason } : {}) });
    log.info({ queue: route.queue, action: route.action, by, changed: r.changed }, 'dashboard queue action');
    sendJson(res, 200, { ok: true, changed: r.changed, paused: r.paused });
  } catch (error) {
    if (isJobtrailError(error, ErrorCodes.InvalidQueue)) sendJson(res, 400, { ok: false, error: error.message });
    else throw error;
  }
};
