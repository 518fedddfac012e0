import { isJobtrailError, ErrorCodes } from '../../errors/index.js';
import { HttpError, sendHtml, sendJson, wantsJson } from '../http.js';
import { checkText } from '../requests.js';
import type { RouteOf } from '../routes.js';
import { schedulesPage } from '../schedulesPage.js';
import { authorizeAction } from './action.js';
import type { Handler } from './handler.js';

/** `GET /schedules` (the Recurring page) and `/api/schedules` (the same as JSON). */
export const handleSchedules: Handler<RouteOf<'schedules' | 'apiSchedules'>> = async ({ engine, context }, { req, res, url, route }) => {
  const schedules = engine.listSchedules ? await engine.listSchedules() : undefined;
  if (route.kind === 'apiSchedules' || wantsJson(req, url)) return sendJson(res, 200, { ok: true, schedules: schedules ?? [] });
  sendHtml(res, 200, schedulesPage(context(true), schedules));
};

/**
 * `POST /api/schedules/<id>/pause|resume|trigger|remove`: the same checks as a job's retry and cancel (same origin,
 * the token, the CSRF token for an ambient credential), and the "acting as" name recorded as `by`.
 */
export const handleScheduleAction: Handler<RouteOf<'scheduleAction'>> = async (deps, { req, res, route }) => {
  const { engine, log } = deps;
  const body = await authorizeAction(deps, req);
  const by = checkText('by', body.by, 100) ?? 'dashboard';
  const act = {
    pause: engine.pauseSchedule,
    resume: engine.resumeSchedule,
    trigger: engine.triggerSchedule,
    remove: engine.removeSchedule,
  }[route.action];
  if (act === undefined) throw new HttpError(404, 'this engine offers no schedules');
  try {
    const outcome = await act.call(engine, route.scheduleId, { by });
    log.info({ scheduleId: route.scheduleId, action: route.action, by }, 'dashboard schedule action');
    sendJson(res, 200, {
      ok: true,
      ...(route.action === 'trigger' ? { jobId: (outcome as { jobId: string }).jobId } : {}),
    });
  } catch (error) {
    if (isJobtrailError(error, ErrorCodes.ScheduleNotFound)) sendJson(res, 404, { ok: false, error: error.message });
    else throw error;
  }
};
