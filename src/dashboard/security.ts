import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { brandClass, ErrorCodes, JobtrailError } from '../errors/index.js';

/** The dashboard was asked to start in a way that would expose it: the message says why and what to do. */
export class DashboardConfigError extends JobtrailError {
  static {
    brandClass(this, 'DashboardConfigError');
  }
  constructor(message: string) {
    super(ErrorCodes.InvalidConfig, message);
    this.name = 'DashboardConfigError';
  }
}

/** The shortest token accepted. */
export const minTokenLength = 16;

/** `localhost`, `127.0.0.0/8`, `::1` (with or without brackets). */
export const isLoopbackHost = (host: string): boolean => {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && (mapped[1] ?? '').startsWith('127.');
};

/**
 * Refuses a binding that anyone on the network could use without a token,
 * and a token too short to resist guessing.
 */
export const checkBinding = (host: string, token: string | undefined): void => {
  if (token !== undefined && token.length < minTokenLength)
    throw new DashboardConfigError(
      `the dashboard token is ${token.length} characters long; use at least ${minTokenLength} characters (e.g. the output of \`openssl rand -hex 16\`)`,
    );
  if (token === undefined && !isLoopbackHost(host))
    throw new DashboardConfigError(
      `refusing to serve the dashboard on ${host} without a token: anyone who can reach that address could read every job and retry or cancel them. ` +
        `Set a token (--token <secret> or JOBTRAIL_DASHBOARD_TOKEN, at least ${minTokenLength} characters), or bind to 127.0.0.1`,
    );
};

/** The session cookie's name. */
export const sessionCookieName = 'jobtrail_session';

const equal = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

const cookies = (req: IncomingMessage): Map<string, string> => {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
};

/** How a request proved who it is. */
export type Credential = 'none-needed' | 'bearer' | 'cookie' | 'body';

/**
 * The dashboard's access rules. Without a token, anyone who reaches the
 * (loopback) address may use it, and the `Host` header must name a loopback
 * host, so a page of another site cannot reach it through DNS rebinding.
 * With a token, every page and endpoint needs it: `Authorization: Bearer
 * <token>`, a `token` field in an action's body, or the session cookie set by
 * visiting any page once with `?token=<token>` (HttpOnly, SameSite=Strict).
 * Actions (POST) also need a same-origin `Origin` (when the browser sends
 * one) and, unless the token came in a header or the body (which another
 * site cannot forge), the page's CSRF token.
 */
export interface Access {
  readonly tokenRequired: boolean;
  /** The CSRF token pages carry (random per server start). */
  readonly csrfToken: string;
  /** Whether the `Host` header is acceptable (see above). */
  hostAllowed(req: IncomingMessage): boolean;
  /** The credential a request carries in its headers, or `undefined` when it has none that is valid. */
  credential(req: IncomingMessage): Credential | undefined;
  /** Whether `value` is the token. */
  isToken(value: string): boolean;
  /** Whether `value` is the CSRF token. */
  isCsrfToken(value: string): boolean;
  /** The `Set-Cookie` value that signs a browser in. */
  sessionCookie(): string;
  /** Whether the request's `Origin` (if any) and `Sec-Fetch-Site` (if any) say it comes from a page of this dashboard. */
  sameOrigin(req: IncomingMessage): boolean;
}

/** Makes the access rules for a token (none: open on loopback). */
export const makeAccess = (token: string | undefined): Access => {
  const csrfToken = randomBytes(24).toString('base64url');
  // The cookie holds a value derived from the token, not the token: it proves a sign-in without revealing the secret.
  const session = token === undefined ? undefined : createHmac('sha256', token).update('jobtrail-dashboard-session:v1').digest('base64url');

  return {
    tokenRequired: token !== undefined,
    csrfToken,
    hostAllowed: (req) => {
      if (token !== undefined) return true;
      const host = req.headers.host;
      if (host === undefined) return false;
      const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
      return isLoopbackHost(name);
    },
    credential: (req) => {
      if (token === undefined) return 'none-needed';
      const auth = req.headers.authorization;
      if (auth !== undefined) {
        const m = /^Bearer\s+(\S+)$/i.exec(auth);
        return m !== null && equal(m[1] ?? '', token) ? 'bearer' : undefined;
      }
      const cookie = cookies(req).get(sessionCookieName);
      return cookie !== undefined && session !== undefined && equal(cookie, session) ? 'cookie' : undefined;
    },
    isToken: (value) => token !== undefined && equal(value, token),
    isCsrfToken: (value) => equal(value, csrfToken),
    sessionCookie: () => `${sessionCookieName}=${session ?? ''}; Path=/; HttpOnly; SameSite=Strict`,
    sameOrigin: (req) => {
      const site = req.headers['sec-fetch-site'];
      if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
      const origin = req.headers.origin;
      if (origin === undefined) return true;
      const host = req.headers.host;
      return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
    },
  };
};
