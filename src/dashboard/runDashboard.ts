import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { PathReporter } from 'io-ts/lib/PathReporter.js';
import { JobNotFoundError, TransitionRejectedError } from '../conductor/index.js';
import type { Engine } from '../engine.js';
import { eventTime, evolve, fold, initialJobState, isFinal, isJobView, type JobState } from '../job/index.js';
import { silentLogger, type Logger } from '../log/index.js';
import { InvalidCursor, ProjectionNames, type ProjectionQueries } from '../projections/index.js';
import type { JobFollow } from '../jobStore/index.js';
import { html, toText } from './html.js';
import { HttpError, readBody, requestUrl, send, sendJson, securityHeaders, wantsJson } from './http.js';
import { listJobs } from './listJobs.js';
import { makeThroughputWindow, overviewOf, readDashboardState, totalsOf, type Overview, type ThroughputWindowOptions } from './overview.js';
import {
  errorPage,
  jobListPage,
  jobPage,
  jobViewSection,
  layout,
  ListStatuses,
  overviewPage,
  overviewSections,
  statusOf,
  timelineRow,
  type ListStatus,
  type PageContext,
} from './pages.js';
import { methodsOf, routeOf, type Route } from './routes.js';
import { checkBinding, DashboardConfigError, makeAccess, type Credential } from './security.js';

/** What the dashboard uses of the engine: its read side, the history, and the two manual actions. */
export type DashboardEngine = Pick<Engine, 'adapters' | 'getJob' | 'history' | 'follow' | 'retry' | 'cancel' | 'projections'>;

/** Options of `runDashboard`; only `engine` is required. */
export interface DashboardOptions {
  /** The engine whose jobs are shown (either mode: the dashboard only uses the engine's APIs). */
  readonly engine: DashboardEngine;
  /** The address to bind. Default: `127.0.0.1`. Any address that is not loopback requires `token`. */
  readonly host?: string;
  /** The TCP port; 0 picks a free one (see the handle's `url`). Default: 7070. */
  readonly port?: number;
  /**
   * A secret of at least 16 characters that every page and endpoint then
   * requires (Bearer header, or a session cookie set by `?token=`). Default:
   * none, allowed on loopback only.
   */
  readonly token?: string;
  /** Default: silent. */
  readonly logger?: Logger;
  /** The largest request body accepted. Default: 16 KiB. */
  readonly maxBodyBytes?: number;
  /** Live connections (server-sent event streams) at once. Default: 200. */
  readonly maxStreams?: number;
  /** How the overview's throughput is counted. Default: the last 5 minutes in 15-second bars. */
  readonly throughput?: ThroughputWindowOptions;
  /** Jobs per list page. Default: 50. */
  readonly pageSize?: number;
}

/** A running dashboard. */
export interface DashboardHandle {
  /** `http://<host>:<port>/`, with the port actually bound. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Closes every live connection and the server. The engine stays open. */
  stop(): Promise<void>;
}

const assetFiles = {
  'dashboard.css': 'text/css; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
} as const;

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

/** The folder of the CSS, JS and icon files, beside this module (the build copies them into `dist/dashboard/`). */
const assetsDir = new URL('./assets/', import.meta.url);

const loadAssets = async (): Promise<ReadonlyMap<string, Asset>> => {
  const out = new Map<string, Asset>();
  for (const [name, type] of Object.entries(assetFiles)) {
    const body = await readFile(new URL(name, assetsDir));
    out.set(name, { body, type, etag: `"${createHash('sha1').update(body).digest('base64url')}"` });
  }
  return out;
};

/** The body of a retry or cancel: who did it, why (cancel), and optionally the credentials. */
const ActionBody = t.exact(t.partial({ by: t.string, reason: t.string, token: t.string, csrf: t.string }), 'ActionBody');
type ActionBody = t.TypeOf<typeof ActionBody>;
const LoginBody = t.exact(t.partial({ token: t.string, next: t.string }), 'LoginBody');

const controlCharacters = /[\u0000-\u001f\u007f]/;

const parseBody = <A>(req: IncomingMessage, text: string, codec: t.Type<A, unknown, unknown>): A => {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  let raw: unknown;
  if (text.trim() === '') raw = {};
  else if (type === 'application/json') {
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new HttpError(400, `the body is not valid JSON: ${(error as Error).message}`);
    }
  } else if (type === 'application/x-www-form-urlencoded') raw = Object.fromEntries(new URLSearchParams(text));
  else
    throw new HttpError(
      415,
      `send the body as application/json or application/x-www-form-urlencoded, not ${JSON.stringify(type || 'no content type')}`,
    );
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new HttpError(400, 'the body must be a JSON object, e.g. {"by": "ada"}');
  const decoded = codec.decode(raw);
  if (E.isLeft(decoded)) throw new HttpError(400, `invalid body: ${PathReporter.report(decoded).join('; ')}`);
  return decoded.right;
};

const checkText = (what: string, value: string | undefined, max: number): string | undefined => {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (v.length > max || controlCharacters.test(v))
    throw new HttpError(400, `"${what}" must be at most ${max} characters without control characters`);
  return v;
};

const parseListStatus = (value: string | null): ListStatus => {
  if (value === null || value === '') return 'all';
  if (Object.hasOwn(ListStatuses, value)) return value as ListStatus;
  throw new HttpError(400, `unknown status ${JSON.stringify(value.slice(0, 50))}; use one of ${Object.values(ListStatuses).join(', ')}`);
};

const parseRevision = (value: string | null | undefined, what: string): number => {
  if (value === null || value === undefined || value === '') return -1;
  const n = Number(value);
  if (!Number.isInteger(n) || n < -1)
    throw new HttpError(400, `${what} must be a stream revision (a whole number ≥ -1), got ${JSON.stringify(value.slice(0, 50))}`);
  return n;
};

/** Where a browser may be sent after signing in: a path of this dashboard only. */
const localPath = (next: string | undefined): string => (next !== undefined && /^\/(?![/\\])/.test(next) ? next : '/');

/**
 * Serves the web dashboard until stopped: an overview updated
 * live from the `job-dashboard` projection, lists of jobs by status, each
 * job's view and replayed history (live from its stream), and the retry and
 * cancel actions. Plain server-rendered HTML, one CSS and one JS file, server-
 * sent events for live updates. Refuses to start on a non-loopback address
 * without a token (`DashboardConfigError`).
 */
export const runDashboard = async (options: DashboardOptions): Promise<DashboardHandle> => {
  const { engine } = options;
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 7070;
  const token = options.token === '' ? undefined : options.token;
  const log = options.logger ?? silentLogger;
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024;
  const maxStreams = options.maxStreams ?? 200;
  const pageSize = options.pageSize ?? 50;
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new DashboardConfigError(`port must be a whole number from 0 to 65535, got ${port}`);
  checkBinding(host, token);
  const access = makeAccess(token);
  const assets = await loadAssets();
  const { queries }: { queries: ProjectionQueries } = await engine.projections();
  const footer = `store ${engine.adapters.store} · broker ${engine.adapters.broker}`;

  // The overview: the projection's latest state, a throughput window fed by its changes, pushed to pages at most every 200 ms.
  const throughput = makeThroughputWindow(options.throughput);
  let dashboardState = readDashboardState(undefined);
  let changed = false;
  const overviewStreams = new Set<ServerResponse>();
  let pushTimer: NodeJS.Timeout | undefined;
  const overview = (): Overview => overviewOf(dashboardState, throughput.snapshot());
  const pushOverview = () => {
    pushTimer = undefined;
    if (overviewStreams.size === 0) return;
    const data = { sections: overviewSections(overview()) };
    for (const res of overviewStreams) writeEvent(res, 'sections', data);
  };
  const unsubscribe = queries.subscribe(ProjectionNames.jobDashboard, (change) => {
    if (change.partition !== undefined) return;
    changed = true;
    dashboardState = readDashboardState(change.state);
    throughput.observe(totalsOf(dashboardState));
    pushTimer ??= setTimeout(pushOverview, 200);
  });
  try {
    const initial = await queries.getState(ProjectionNames.jobDashboard);
    if (!changed) {
      dashboardState = readDashboardState(initial);
      throughput.observe(totalsOf(dashboardState));
    }
  } catch (error) {
    unsubscribe();
    throw error;
  }
  // Every 5 s: the rates move on as time passes, and the stream shows it is alive.
  const ticker = setInterval(pushOverview, 5_000);
  ticker.unref();

  // Live connections: the overview's, and each job page's with its store subscription.
  const streams = new Set<ServerResponse>();
  const follows = new Set<JobFollow>();
  const pinger = setInterval(() => {
    for (const res of streams) if (!overviewStreams.has(res)) res.write(': ping\n\n');
  }, 20_000);
  pinger.unref();

  function writeEvent(res: ServerResponse, event: string, data: unknown, id?: number): void {
    // JSON.stringify never emits a raw newline, so the data is one `data:` line.
    res.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  const openStream = (req: IncomingMessage, res: ServerResponse): void => {
    if (streams.size >= maxStreams)
      throw new HttpError(503, `too many live connections (${maxStreams}); close some dashboard tabs`, { 'Retry-After': '10' });
    res.writeHead(200, {
      ...securityHeaders,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    streams.add(res);
    req.socket.setTimeout(0);
    res.on('close', () => {
      streams.delete(res);
      overviewStreams.delete(res);
    });
  };

  const context = (csrf: boolean): PageContext => ({ footer, ...(csrf ? { csrfToken: access.csrfToken } : {}) });

  const sendPage = (res: ServerResponse, status: number, page: string, headers: Readonly<Record<string, string>> = {}) =>
    send(res, status, 'text/html; charset=utf-8', page, headers);

  const sendError = (req: IncomingMessage, res: ServerResponse, url: URL | undefined, error: HttpError) => {
    if (url !== undefined && !wantsJson(req, url)) {
      const titles: Record<number, string> = {
        400: 'Bad request',
        401: 'Sign in',
        403: 'Forbidden',
        404: 'Not found',
        405: 'Method not allowed',
        409: 'Refused',
        413: 'Too large',
        415: 'Unsupported body',
      };
      sendPage(res, error.status, errorPage(context(false), error.status, titles[error.status] ?? 'Error', error.message), error.headers);
    } else sendJson(res, error.status, { ok: false, error: error.message }, error.headers);
  };

  const signInPage = (next: string, message: string) =>
    layout(
      context(false),
      'Sign in',
      html`<h1>Sign in</h1><p class="problem">${message}</p>
<form class="login" method="post" action="/login">
  <input type="hidden" name="next" value="${next}">
  <label>Token <input type="password" name="token" autocomplete="current-password" required></label>
  <button type="submit">Sign in</button>
</form>
<p class="note">The token is the value of <code>--token</code> or <code>JOBTRAIL_DASHBOARD_TOKEN</code>. You can also open any page once with <code>?token=&lt;token&gt;</code>; the browser then keeps a session cookie.</p>`,
    );

  const unauthorized = (req: IncomingMessage, res: ServerResponse, url: URL, message: string) => {
    const headers = { 'WWW-Authenticate': 'Bearer realm="jobtrail dashboard"' };
    if (wantsJson(req, url) || req.method !== 'GET') sendJson(res, 401, { ok: false, error: message }, headers);
    else sendPage(res, 401, signInPage(url.pathname + url.search, message), headers);
  };

  const handleAction = async (req: IncomingMessage, res: ServerResponse, route: Extract<Route, { kind: 'action' }>) => {
    if (!access.sameOrigin(req))
      throw new HttpError(
        403,
        `cross-site request refused: Origin ${JSON.stringify(req.headers.origin ?? null)} is not this dashboard (http://${req.headers.host ?? host}); act from the dashboard's own pages`,
      );
    const body: ActionBody = parseBody(req, await readBody(req, maxBodyBytes), ActionBody);
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
    const by = checkText('by', body.by, 100) ?? 'dashboard';
    const reason = checkText('reason', body.reason, 500);
    try {
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

  const handleJobEvents = async (req: IncomingMessage, res: ServerResponse, url: URL, jobId: string) => {
    const after = Math.max(
      parseRevision(url.searchParams.get('after'), 'after'),
      parseRevision(req.headers['last-event-id'] as string | undefined, 'Last-Event-ID'),
    );
    if ((await engine.getJob(jobId)) === undefined) throw new HttpError(404, `job "${jobId}" does not exist`);
    openStream(req, res);
    let closed = false;
    let follow: JobFollow | undefined = undefined;
    res.on('close', () => {
      closed = true;
      if (follow === undefined) return;
      follows.delete(follow);
      void follow.stop();
    });
    let state: JobState = initialJobState;
    let previous: string | undefined;
    const following = await engine.follow(jobId, {
      onEvent: (r) => {
        const row = timelineRow(r, previous);
        previous = eventTime(r.event);
        state = evolve(state, r.event);
        if (closed || r.revision <= after || !isJobView(state)) return;
        writeEvent(
          res,
          'job-event',
          {
            revision: r.revision,
            type: r.event.type,
            status: statusOf(state),
            final: isFinal(state),
            row: toText(row),
            view: toText(jobViewSection(state)),
          },
          r.revision,
        );
      },
      onError: (error) => {
        log.error({ jobId, err: error.message }, 'dashboard: following a job failed');
        if (!closed) writeEvent(res, 'problem', { message: `the live feed stopped: ${error.message}; reload the page` });
        res.end();
      },
    });
    if (closed) {
      await following.stop();
      return;
    }
    follow = following;
    follows.add(following);
  };

  const handleLogin = async (req: IncomingMessage, res: ServerResponse) => {
    if (!access.sameOrigin(req)) throw new HttpError(403, 'cross-site sign-in refused');
    const body = parseBody(req, await readBody(req, maxBodyBytes), LoginBody);
    const next = localPath(body.next);
    if (!access.tokenRequired) {
      send(res, 303, 'text/plain; charset=utf-8', '', { Location: next });
      return;
    }
    if (body.token === undefined || !access.isToken(body.token)) {
      sendPage(res, 401, signInPage(next, 'That is not the token.'), { 'WWW-Authenticate': 'Bearer realm="jobtrail dashboard"' });
      return;
    }
    send(res, 303, 'text/plain; charset=utf-8', '', { Location: next, 'Set-Cookie': access.sessionCookie() });
  };

  const route = async (req: IncomingMessage, res: ServerResponse, url: URL, r: Route) => {
    switch (r.kind) {
      case 'overview':
        return sendPage(res, 200, overviewPage(context(true), overview()));
      case 'apiOverview':
        return sendJson(res, 200, overview());
      case 'list':
      case 'apiList': {
        const status = parseListStatus(url.searchParams.get('status'));
        const worker = checkText('worker', url.searchParams.get('worker') ?? undefined, 200);
        const after = url.searchParams.get('after') ?? undefined;
        const page = await listJobs(queries, {
          status,
          limit: pageSize,
          ...(worker !== undefined ? { worker } : {}),
          ...(after !== undefined && after !== '' ? { after } : {}),
        });
        if (r.kind === 'apiList') return sendJson(res, 200, page);
        const counts = overview().counts;
        return sendPage(
          res,
          200,
          jobListPage(context(true), {
            status,
            workers: Object.keys(dashboardState.workers).sort(),
            counts,
            jobs: page.jobs,
            first: after === undefined || after === '',
            ...(worker !== undefined ? { worker } : {}),
            ...(page.next !== undefined ? { next: page.next } : {}),
          }),
        );
      }
      case 'job':
      case 'apiJob': {
        const events = await engine.history(r.jobId);
        const state = fold(events.map((e) => e.event));
        if (!isJobView(state)) throw new HttpError(404, `job "${r.jobId}" does not exist (no stream job-${r.jobId})`);
        if (r.kind === 'apiJob') return sendJson(res, 200, { job: state, history: events });
        return sendPage(res, 200, jobPage(context(true), state, events));
      }
      case 'action':
        return handleAction(req, res, r);
      case 'login':
        return handleLogin(req, res);
      case 'overviewEvents':
        openStream(req, res);
        overviewStreams.add(res);
        writeEvent(res, 'sections', { sections: overviewSections(overview()) });
        return;
      case 'jobEvents':
        return handleJobEvents(req, res, url, r.jobId);
      case 'asset': {
        const asset = assets.get(r.name);
        if (asset === undefined) throw new HttpError(404, `no asset ${JSON.stringify(r.name.slice(0, 100))}`);
        const headers = { ETag: asset.etag, 'Cache-Control': 'no-cache' };
        if (req.headers['if-none-match'] === asset.etag) return send(res, 304, asset.type, '', headers);
        return send(res, 200, asset.type, asset.body, headers);
      }
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let url: URL | undefined;
    try {
      url = requestUrl(req);
      if (!access.hostAllowed(req))
        throw new HttpError(
          403,
          `Host ${JSON.stringify(req.headers.host ?? '')} is not a loopback name: without a token this dashboard answers only to 127.0.0.1, localhost or [::1] (a guard against DNS rebinding)`,
        );
      const r = routeOf(url);
      if (r === undefined) throw new HttpError(404, `no page at ${url.pathname.slice(0, 200)}; the overview is at /`);
      const methods = methodsOf(r);
      if (!methods.includes(req.method ?? ''))
        throw new HttpError(405, `${req.method ?? '?'} is not allowed here; use ${methods.join(' or ')}`, { Allow: methods.join(', ') });
      if (r.kind !== 'asset' && r.kind !== 'action' && r.kind !== 'login') {
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
      await route(req, res, url, r);
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

  const server = createServer({ requestTimeout: 30_000 }, (req, res) => void handle(req, res));
  // A request Node's parser refuses never reaches the handler: answer it here, briefly.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const body = `the request could not be parsed (${error.code ?? 'malformed'}): check the request line and headers`;
    const headers = Object.entries(securityHeaders)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });

  const stopLive = () => {
    clearInterval(ticker);
    clearInterval(pinger);
    if (pushTimer !== undefined) clearTimeout(pushTimer);
    unsubscribe();
  };

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    stopLive();
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE')
      throw new DashboardConfigError(`port ${port} on ${host} is in use; pick another with --port (0 picks a free one)`);
    if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND')
      throw new DashboardConfigError(`cannot bind the dashboard to ${host}: ${e.code}; use an address of this machine, e.g. 127.0.0.1`);
    throw error;
  }
  const bound = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  let stopping: Promise<void> | undefined;

  return {
    url: `http://${urlHost}:${bound}/`,
    host,
    port: bound,
    stop: () =>
      (stopping ??= (async () => {
        stopLive();
        await Promise.all([...follows].map((f) => f.stop()));
        follows.clear();
        for (const res of streams) res.end();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
      })()),
  };
};
