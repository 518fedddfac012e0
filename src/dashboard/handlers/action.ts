import type { IncomingMessage } from 'node:http';
import type * as t from 'io-ts';
import { JobNotFoundError, TransitionRejectedError } from '../../conductor/index.js';
import { HttpError, readBody, sendJson } from '../http.js';
import { ActionBody, checkText, parseBody } from '../requests.js';
import type { RouteOf } from '../routes.js';
import type { Credential } from '../security.js';
import type { Handler, HandlerDeps } from './handler.js';

/**
 * `POST /api/jobs/<id>/retry|cancel|purge`: from this dashboard's pages only, with
 * the token (header, body or session) and, for an ambient credential, the
 * page's CSRF token. 409 with the state machine's reason when refused.
 */
export const handleAction: Handler<RouteOf<'action'>> = async ({ engine, access, log, host, maxBodyBytes }, { req, res, route }) => {
  const body = await authorizeAction({ access, host, maxBodyBytes }, req);
  const by = checkText('by', body.by, 100) ?? 'dashboard';
  const reason = checkText('reason', body.reason, 500);
  try {
    if (route.action === 'purge') {
      if (engine.purge === undefined) throw new HttpError(404, 'this dashboard cannot purge jobs');
      const [outcome] = (await engine.purge([route.jobId], { by, ...(reason !== undefined ? { reason } : {}) })).outcomes;
      log.info({ jobId: route.jobId, action: route.action, by, outcome: outcome?.outcome }, 'dashboard action');
      if (outcome?.outcome === 'purged') sendJson(res, 200, { ok: true, purged: true });
      else sendJson(res, 409, { ok: false, error: outcome?.reason ?? 'refused' });
      return;
    }
    const view =
      route.action === 'retry'
        ? await engine.retry(route.jobId, { by })
        : await engine.cancel(route.jobId, { by, ...(reason !== undefined ? { reason } : {}) });
    log.info({ jobId: route.jobId, action: route.action, by }, 'dashboard action');
    sendJson(res, 200, { ok: true, job: view });
  } catch (error) {
    if (error instanceof TransitionRejectedError) sendJson(res, 409, { ok: false, error: error.message, rejection: error.rejection });
    else if (error instanceof JobNotFoundError) sendJson(res, 404, { ok: false, error: error.message });
    else throw error;
  }
};

/**
 * The checks every posted action passes (a job's retry or cancel, a schedule's pause, resume, trigger or remove): the
 * same origin, a credential (header, body or session), and for an ambient credential the page's CSRF token. Gives
 * the parsed body.
 */
export const authorizeAction = async <A extends ActionBody = ActionBody>(
  { access, host, maxBodyBytes }: Pick<HandlerDeps, 'access' | 'host' | 'maxBodyBytes'>,
  req: IncomingMessage,
  codec: t.Type<A, unknown, unknown> = ActionBody as unknown as t.Type<A, unknown, unknown>,
): Promise<A> => {
  if (!access.sameOrigin(req))
    throw new HttpError(
      403,
      `cross-site request refused: Origin ${JSON.stringify(req.headers.origin ?? null)} is not this dashboard (http://${req.headers.host ?? host}); act from the dashboard's own pages`,
    );
  const body: A = parseBody(req, await readBody(req, maxBodyBytes), codec);
  let credential: Credential | undefined = access.credential(req);
  if (credential === undefined && req.headers.authorization === undefined && body.token !== undefined && access.isToken(body.token))
    credential = 'body';
  if (credential === undefined)
    throw new HttpError(401, 'this dashboard needs its token: send "Authorization: Bearer <token>", a "token" field, or sign in', {
      'WWW-Authenticate': 'Bearer realm="jobtrail dashboard"',
    });
  // An ambient credential (the cookie, or none at all on loopback) could be used by another site's form: the page's CSRF token proves the post comes from a page of this dashboard.
  if (credential === 'cookie' || credential === 'none-needed') {
    const csrf = (req.headers['x-jobtrail-csrf'] as string | undefined) ?? body.csrf;
    if (csrf === undefined || !access.isCsrfToken(csrf))
      throw new HttpError(403, 'missing or stale CSRF token: reload the page and try again');
  }
  return body;
};
