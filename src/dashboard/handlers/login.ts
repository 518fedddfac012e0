import { HttpError, readBody, send, sendHtml } from '../http.js';
import { signInPage } from '../pages.js';
import { LoginBody, localPath, parseBody } from '../requests.js';
import type { RouteOf } from '../routes.js';
import type { Handler } from './handler.js';

/** `POST /login`: the sign-in form. The right token sets the session cookie and goes back to `next` (a path of this dashboard). */
export const handleLogin: Handler<RouteOf<'login'>> = async ({ access, context, maxBodyBytes }, { req, res }) => {
  if (!access.sameOrigin(req)) throw new HttpError(403, 'cross-site sign-in refused');
  const body = parseBody(req, await readBody(req, maxBodyBytes), LoginBody);
  const next = localPath(body.next);
  if (!access.tokenRequired) {
    send(res, 303, 'text/plain; charset=utf-8', '', { Location: next });
    return;
  }
  if (body.token === undefined || !access.isToken(body.token)) {
    sendHtml(res, 401, signInPage(context(false), next, 'That is not the token.'), {
      'WWW-Authenticate': 'Bearer realm="jobtrail dashboard"',
    });
    return;
  }
  send(res, 303, 'text/plain; charset=utf-8', '', { Location: next, 'Set-Cookie': access.sessionCookie() });
};
