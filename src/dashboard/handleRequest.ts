import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidCursor } from '../projections/index.js';
import { routeTable, type HandlerDeps, type RouteEntry, type RoutedRequest } from './handlers/index.js';
import { HttpError, requestUrl, send, sendHtml, sendJson, wantsJson } from './http.js';
import { errorPage, signInPage } from './pages.js';
import { routeOf, type RouteKind, type RouteOf } from './routes.js';

const errorTitles: Readonly<Record<number, string>> = {
  400: 'Bad request',
  401: 'Sign in',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Refused',
  413: 'Too large',
  415: 'Unsupported body',
};

const dispatch = <K extends RouteKind>(deps: HandlerDeps, request: RoutedRequest<RouteOf<K>>): void | Promise<void> => {
  const entry: RouteEntry<RouteOf<K>> = routeTable[request.route.kind];
  return entry.handler(deps, request);
};

/**
 * The dashboard's answer to every request: the guard against DNS rebinding,
 * the route (see `routeOf` and `routeTable`), its methods, the sign-in of the
 * routes that need one, then the route's handler. A refusal (`HttpError`) is
 * an error page, or JSON for the API and for clients that ask for it; any
 * other failure is logged and answered with a 500.
 */
export const makeRequestHandler = (deps: HandlerDeps): ((req: IncomingMessage, res: ServerResponse) => Promise<void>) => {
  const { access, log, context } = deps;

  const sendError = (req: IncomingMessage, res: ServerResponse, url: URL | undefined, error: HttpError) => {
    if (url !== undefined && !wantsJson(req, url))
      sendHtml(
        res,
        error.status,
        errorPage(context(false), error.status, errorTitles[error.status] ?? 'Error', error.message),
        error.headers,
      );
    else sendJson(res, error.status, { ok: false, error: error.message }, error.headers);
  };

  const unauthorized = (req: IncomingMessage, res: ServerResponse, url: URL, message: string) => {
    const headers = { 'WWW-Authenticate': 'Bearer realm="jobtrail dashboard"' };
    if (wantsJson(req, url) || req.method !== 'GET') sendJson(res, 401, { ok: false, error: message }, headers);
    else sendHtml(res, 401, signInPage(context(false), url.pathname + url.search, message), headers);
  };

  return async (req, res) => {
    let url: URL | undefined;
    try {
      url = requestUrl(req);
      if (!access.hostAllowed(req))
        throw new HttpError(
          403,
          `Host ${JSON.stringify(req.headers.host ?? '')} is not a loopback name: without a token this dashboard answers only to 127.0.0.1, localhost or [::1] (a guard against DNS rebinding)`,
        );
      const route = routeOf(url);
      if (route === undefined) throw new HttpError(404, `no page at ${url.pathname.slice(0, 200)}; the overview is at /`);
      const { methods, signedIn } = routeTable[route.kind];
      if (!methods.includes(req.method ?? ''))
        throw new HttpError(405, `${req.method ?? '?'} is not allowed here; use ${methods.join(' or ')}`, { Allow: methods.join(', ') });
      if (signedIn) {
        const login = url.searchParams.get('token');
        if (login !== null && access.tokenRequired) {
          url.searchParams.delete('token');
          if (!access.isToken(login)) return unauthorized(req, res, url, 'That is not the token.');
          return send(res, 303, 'text/plain; charset=utf-8', '', {
            Location: url.pathname + url.search,
            'Set-Cookie': access.sessionCookie(),
          });
        }
        if (access.credential(req) === undefined)
          return unauthorized(
            req,
            res,
            url,
            req.headers.authorization !== undefined ? 'That is not the token.' : 'This dashboard needs its token.',
          );
      }
      await dispatch(deps, { req, res, url, route });
    } catch (error) {
      if (error instanceof HttpError) {
        log.debug(
          { method: req.method, url: req.url?.slice(0, 200), status: error.status, err: error.message },
          'dashboard: refused a request',
        );
        sendError(req, res, url, error);
      } else if (error instanceof InvalidCursor) {
        sendError(req, res, url, new HttpError(400, error.message));
      } else {
        log.error(
          { method: req.method, url: req.url?.slice(0, 200), err: (error as Error)?.stack ?? String(error) },
          'dashboard: request failed',
        );
        sendError(req, res, url, new HttpError(500, `the dashboard failed to answer: ${(error as Error)?.message ?? String(error)}`));
      }
    }
  };
};
