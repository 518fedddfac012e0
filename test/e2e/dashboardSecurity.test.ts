import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as t from 'io-ts';
import type { Browser } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, defineWorker, type Engine } from '../../src/index.js';
import { checkBinding, DashboardConfigError, isLoopbackHost, runDashboard, type DashboardHandle } from '../../src/dashboard/index.js';
import { launchBrowser, watchProblems } from '../support/browser.js';
import { readyTestStore, testStoreLabel, testStoreUrl } from '../support/testStore.js';
import { waitFor } from '../support/waitFor.js';

const test = suite(`the dashboard: token, same-origin actions, escaping, bad input (${testStoreLabel})`);

const dir = mkdtempSync(join(tmpdir(), 'jobtrail-dashboard-security-'));
const run = randomUUID().slice(0, 8);
const token = `tok-${randomUUID()}`;

const xss = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">';
/** A worker name is free text (1–200 characters): it is escaped like the rest. */
const evilWorker = 'mailer<img src=x onerror="window.__xss=3">';

/** Returns `result`, or throws `error` on the attempts listed in `failAttempts`. */
const echo = defineWorker({
  name: evilWorker,
  payload: t.intersection([t.type({ text: t.string }), t.partial({ error: t.string, failAttempts: t.array(t.number) })]),
  maxAttempts: 1,
  action: async (p, ctx) => {
    if (p.error !== undefined && (p.failAttempts ?? [1]).includes(ctx.attempt)) throw new Error(p.error);
    return { echoed: p.text };
  },
});

let engine: Engine;
let open: DashboardHandle;
let guarded: DashboardHandle;
let browser: Browser | undefined;

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One HTTP request with exactly the headers given (Host, Origin and Cookie included), optionally chunked. */
const request = (
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; chunked?: boolean } = {},
): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const url = new URL(base);
    const req = httpRequest(
      { host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: options.headers ?? {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) {
      if (options.chunked) {
        // Written in pieces without a Content-Length: the limit must hold while reading.
        const piece = options.body.slice(0, 64 * 1024);
        for (let sent = 0; sent < options.body.length; sent += piece.length) req.write(piece);
      } else req.write(options.body);
    }
    req.end();
  });

const json = <T>(r: Reply): T => JSON.parse(r.body) as T;
const must = <T>(value: T | undefined, what: string): T => {
  if (value === undefined)
    throw new assert.Assertion({ message: `expected ${what}`, operator: 'must', generated: false, expects: what, actual: value });
  return value;
};
const csrfOf = (page: string): string =>
  must(/<meta name="jobtrail-csrf" content="([^"]+)">/.exec(page)?.[1], 'the page to carry a CSRF token');

const enqueueFinal = async (jobId: string, payload: { text: string; error?: string; failAttempts?: number[] }) => {
  await engine.enqueue(evilWorker, payload, { jobId });
  const [view] = await engine.waitForFinal([jobId], { timeoutMs: 10_000 });
  return view!;
};

test.before(async () => {
  // Its job ids carry `run`: unique on a shared EventStoreDB server (ESDB_URL) too.
  await readyTestStore();
  engine = await createEngine({ store: testStoreUrl(dir), broker: 'memory', workers: [echo], gracePeriodMs: 1_000 });
  await engine.start();
  open = await runDashboard({ engine, port: 0 });
  guarded = await runDashboard({ engine, host: '0.0.0.0', port: 0, token });
});

test.after(async () => {
  await browser?.close();
  await open?.stop();
  await guarded?.stop();
  await engine?.close({ gracePeriodMs: 0 });
  rmSync(dir, { recursive: true, force: true });
});

test('a non-loopback address without a token: refuses to start and says why; a short token is refused too', async () => {
  for (const host of ['0.0.0.0', '::', '192.168.1.20', 'dashboard.example.com']) {
    const error = await runDashboard({ engine, host, port: 0 }).then(
      (d) => d.stop().then(() => assert.unreachable(`started on ${host} without a token`)),
      (e: unknown) => e,
    );
    assert.instance(error, DashboardConfigError);
    assert.match((error as Error).message, `refusing to serve the dashboard on ${host} without a token`);
    assert.match((error as Error).message, '--token');
    assert.match((error as Error).message, 'JOBTRAIL_DASHBOARD_TOKEN');
  }
  assert.throws(() => checkBinding('127.0.0.1', 'short'), /at least 16 characters/);
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(host), host);
  for (const host of ['0.0.0.0', '::', '10.0.0.1', 'localhost.example.com', '128.0.0.1']) assert.not.ok(isLoopbackHost(host), host);
});

test('with a token, every page and endpoint needs it: 401 without, 200 with (Bearer or the signed-in cookie)', async () => {
  assert.match(guarded.url, /^http:\/\/0\.0\.0\.0:\d+\/$/);
  const base = `http://127.0.0.1:${guarded.port}/`;
  for (const path of ['/', '/jobs', '/jobs/anything', '/api/overview', '/api/jobs', '/events/overview']) {
    const r = await request(base, path);
    assert.is(r.status, 401, `${path} without the token`);
    assert.is(r.headers['www-authenticate'], 'Bearer realm="jobtrail dashboard"');
  }
  const page = await request(base, '/');
  assert.match(page.body, '<form class="login" method="post" action="/login">', 'a page without the token offers to sign in');
  assert.not.match(page.body, 'jobtrail-csrf');
  assert.is((await request(base, '/api/overview', { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status, 401);

  const api = await request(base, '/api/overview', { headers: { authorization: `Bearer ${token}` } });
  assert.is(api.status, 200);
  assert.type(json<{ counts: { total: number } }>(api).counts.total, 'number');

  assert.is((await request(base, '/?token=wrong')).status, 401);
  const login = await request(base, `/jobs?status=failed&token=${encodeURIComponent(token)}`);
  assert.is(login.status, 303);
  assert.is(login.headers.location, '/jobs?status=failed', 'the token does not stay in the address bar');
  const cookie = must(login.headers['set-cookie']?.[0], 'a session cookie');
  assert.match(cookie, /; HttpOnly/);
  assert.match(cookie, /; SameSite=Strict/);
  assert.not.match(cookie, token, 'the cookie does not hold the token itself');
  const session = cookie.split(';')[0]!;
  const signedIn = await request(base, '/jobs?status=failed', { headers: { cookie: session } });
  assert.is(signedIn.status, 200);
  assert.match(signedIn.body, 'Failed jobs');

  const form = await request(base, '/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base.slice(0, -1) },
    body: new URLSearchParams({ token, next: '//evil.example/' }).toString(),
  });
  assert.is(form.status, 303);
  assert.is(form.headers.location, '/', 'sign-in redirects only within the dashboard');
});

test('actions: refused without the token, from another origin, or without the CSRF token; allowed otherwise', async () => {
  const jobId = `sec-${run}-failed`;
  await enqueueFinal(jobId, { text: 'x', error: 'planned', failAttempts: [1, 2] });
  const base = `http://127.0.0.1:${guarded.port}/`;
  const origin = `http://127.0.0.1:${guarded.port}`;
  const retry = `/api/jobs/${jobId}/retry`;
  const body = JSON.stringify({ by: 'mallory' });
  const jsonHeaders = { 'content-type': 'application/json' };
  const events = async () => (await engine.history(jobId)).length;
  const recorded = await events();

  const anonymous = await request(base, retry, { method: 'POST', headers: { ...jsonHeaders, origin }, body });
  assert.is(anonymous.status, 401);
  assert.match(json<{ error: string }>(anonymous).error, 'needs its token');
  const wrong = await request(base, retry, {
    method: 'POST',
    headers: { ...jsonHeaders, origin },
    body: JSON.stringify({ by: 'mallory', token: 'not-the-token-at-all' }),
  });
  assert.is(wrong.status, 401);
  const foreign = await request(base, retry, {
    method: 'POST',
    headers: { ...jsonHeaders, origin: 'https://evil.example', authorization: `Bearer ${token}` },
    body,
  });
  assert.is(foreign.status, 403);
  assert.match(json<{ error: string }>(foreign).error, 'cross-site request refused');
  const crossSite = await request(base, retry, {
    method: 'POST',
    headers: { ...jsonHeaders, 'sec-fetch-site': 'cross-site', authorization: `Bearer ${token}` },
    body,
  });
  assert.is(crossSite.status, 403);

  const login = await request(base, `/?token=${encodeURIComponent(token)}`);
  const session = login.headers['set-cookie']![0]!.split(';')[0]!;
  const noCsrf = await request(base, retry, { method: 'POST', headers: { ...jsonHeaders, origin, cookie: session }, body });
  assert.is(noCsrf.status, 403);
  assert.match(json<{ error: string }>(noCsrf).error, 'CSRF');
  const badCsrf = await request(base, retry, {
    method: 'POST',
    headers: { ...jsonHeaders, origin, cookie: session, 'x-jobtrail-csrf': 'guess' },
    body,
  });
  assert.is(badCsrf.status, 403);
  assert.is(await events(), recorded, 'nothing was recorded by a refused request');

  const csrf = csrfOf((await request(base, `/jobs/${jobId}`, { headers: { cookie: session } })).body);
  const ok = await request(base, retry, {
    method: 'POST',
    headers: { ...jsonHeaders, origin, cookie: session, 'x-jobtrail-csrf': csrf },
    body: JSON.stringify({ by: 'ada' }),
  });
  assert.is(ok.status, 200, ok.body);
  assert.equal(json<{ ok: boolean; job: { status: string } }>(ok).ok, true);
  const [after] = await engine.waitForFinal([jobId], { timeoutMs: 10_000 });
  assert.is(after?.lastReset?.by, 'ada');

  // A script (no browser, so no Origin): the Bearer header is enough, or a "token" field of a form.
  const cancelDone = await request(base, `/api/jobs/${jobId}/cancel`, {
    method: 'POST',
    headers: { ...jsonHeaders, authorization: `Bearer ${token}` },
    body: JSON.stringify({ by: 'ops' }),
  });
  assert.is(cancelDone.status, 200, 'an errored job can be cancelled');
  const refused = await request(base, `/api/jobs/${jobId}/cancel`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, by: 'ops' }).toString(),
  });
  assert.is(refused.status, 409);
  const expected = await engine.cancel(jobId).then(
    () => assert.unreachable('cancelling a cancelled job is refused'),
    (e: Error) => e.message,
  );
  assert.is(json<{ error: string }>(refused).error, expected, "the state machine's reason");

  // Without a token (loopback): a foreign Origin, a missing CSRF token, or a foreign Host are refused.
  const openOrigin = `http://127.0.0.1:${open.port}`;
  const openRetry = await request(open.url, retry, { method: 'POST', headers: { ...jsonHeaders, origin: 'http://evil.example' }, body });
  assert.is(openRetry.status, 403);
  assert.is((await request(open.url, retry, { method: 'POST', headers: { ...jsonHeaders, origin: openOrigin }, body })).status, 403);
  const rebound = await request(open.url, '/api/overview', { headers: { host: `evil.example:${open.port}` } });
  assert.is(rebound.status, 403);
  assert.match(json<{ error: string }>(rebound).error, 'DNS rebinding');
  assert.is((await request(open.url, '/api/overview', { headers: { host: `localhost:${open.port}` } })).status, 200);
});

test('bad input gets a 4xx with a clear message, never a crash; the body size is limited', async () => {
  const jobId = `sec-${run}-done`;
  await enqueueFinal(jobId, { text: 'fine' });
  const action = `/api/jobs/${jobId}/retry`;
  const origin = `http://127.0.0.1:${open.port}`;
  const csrf = csrfOf((await request(open.url, '/')).body);
  const post = (body: string, contentType = 'application/json', chunked = false) =>
    request(open.url, action, { method: 'POST', headers: { 'content-type': contentType, origin, 'x-jobtrail-csrf': csrf }, body, chunked });
  const cases: Array<[string, Promise<Reply>, number, string]> = [
    ['unknown path', request(open.url, '/wp-admin/'), 404, 'no page at /wp-admin/'],
    ['too long a job id', request(open.url, `/jobs/${'x'.repeat(200)}`), 400, 'not a job id'],
    ['bad characters in a job id', request(open.url, '/jobs/a%20b'), 400, 'not a job id'],
    ['bad percent-encoding', request(open.url, '/jobs/a%ZZ'), 400, 'percent-encoding'],
    ['unknown job', request(open.url, '/api/jobs/no-such-job'), 404, 'job "no-such-job" does not exist'],
    ['unknown job, live feed', request(open.url, '/events/jobs/no-such-job'), 404, 'does not exist'],
    ['bad cursor', request(open.url, '/jobs?status=failed&after=not-a-cursor'), 400, 'invalid listJobViews cursor'],
    ['unknown status', request(open.url, '/api/jobs?status=done'), 400, 'unknown status "done"'],
    ['bad revision', request(open.url, `/events/jobs/${jobId}?after=soon`), 400, 'after must be a stream revision'],
    ['job id query missing', request(open.url, '/job'), 400, 'needs the job id'],
    ['wrong method', request(open.url, '/', { method: 'DELETE' }), 405, 'use GET or HEAD'],
    ['GET on an action', request(open.url, action), 405, 'use POST'],
    ['an absolute URL as the target', request(open.url, 'http://evil.example/'), 400, 'must be a path'],
    ['a target the HTTP parser refuses', request(open.url, 'relative'), 400, 'could not be parsed'],
    ['bad JSON', post('{"by": '), 400, 'not valid JSON'],
    ['JSON that is not an object', post('["ada"]'), 400, 'must be a JSON object'],
    ['a field of the wrong type', post('{"by": 5}'), 400, 'invalid body'],
    ['a name with control characters', post('{"by": "a\\u0000b"}'), 400, '"by" must be at most 100 characters without control characters'],
    ['an unsupported body', post('by=ada', 'text/plain'), 415, 'application/json'],
    ['a huge body', post(JSON.stringify({ by: 'x'.repeat(1_000_000) })), 413, 'larger than the limit of 16384 bytes'],
    ['a huge chunked body', post(JSON.stringify({ by: 'x'.repeat(1_000_000) }), 'application/json', true), 413, 'larger than the limit'],
    [
      'a job in the action path that is unknown',
      request(open.url, '/api/jobs/nope/cancel', {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin, 'x-jobtrail-csrf': csrf },
        body: '{}',
      }),
      404,
      'does not exist',
    ],
  ];
  for (const [what, reply, status, message] of cases) {
    const r = await reply;
    assert.is(r.status, status, `${what}: ${r.body.slice(0, 300)}`);
    const said = String(r.headers['content-type']).startsWith('application/json') ? json<{ error: string }>(r).error : r.body;
    assert.match(said, message, what);
    assert.match(String(r.headers['content-security-policy']), "script-src 'self'", `${what}: the CSP is set on errors too`);
  }
  assert.is((await engine.history(jobId)).length, 3, 'no refused request recorded anything (enqueued, started, completed)');
  const alive = await request(open.url, '/');
  assert.is(alive.status, 200, 'the server still answers');
  const csp = String(alive.headers['content-security-policy']);
  assert.match(csp, "default-src 'none'");
  assert.match(csp, "script-src 'self'");
  assert.not.match(csp, 'unsafe-inline');
  assert.equal(
    alive.body.match(/<script[^>]*>/g),
    ['<script src="/assets/dashboard.js" defer>', '<script src="/assets/charts.js" defer>'],
    "the dashboard's script and the overview's charts, served as files: no inline script",
  );
});

test('payloads, results, errors and worker names are shown as text: injected markup does not run', async () => {
  const failed = `xss-${run}-failed`;
  const completed = `xss-${run}-completed`;
  await enqueueFinal(failed, { text: xss, error: `boom ${xss}`, failAttempts: [1, 2] });
  await enqueueFinal(completed, { text: xss });

  browser = await launchBrowser();
  const page = await browser.newPage();
  const problems = watchProblems(page);
  await page.goto(`http://127.0.0.1:${guarded.port}/?token=${encodeURIComponent(token)}`);
  assert.is(page.url(), `http://127.0.0.1:${guarded.port}/`, 'signed in, and the token is gone from the address');

  const noScriptRan = async (where: string) => {
    assert.is(await page.evaluate('typeof window.__xss'), 'undefined', `${where}: no injected script or handler ran`);
    assert.is(await page.locator('img[src="x"]').count(), 0, `${where}: no injected element`);
    assert.is(
      await page.locator('script:not([src="/assets/dashboard.js"]):not([src="/assets/charts.js"])').count(),
      0,
      `${where}: only the dashboard's own scripts`,
    );
  };

  await page.locator('#live[data-state="open"]').waitFor({ timeout: 10_000 });
  await waitFor(
    async () => ((await page.locator('[data-section="failures"]').textContent()) ?? '').includes(`boom ${xss}`),
    10_000,
    'the failure to be listed',
  );
  assert.match((await page.locator('[data-section="workers"]').textContent()) ?? '', evilWorker);
  await noScriptRan('overview');

  await page.goto(`http://127.0.0.1:${guarded.port}/jobs?status=failed`);
  assert.match((await page.locator('table.jobs').textContent()) ?? '', `Error: boom ${xss}`);
  assert.match((await page.locator('select[name="worker"]').textContent()) ?? '', evilWorker);
  await page.selectOption('select[name="worker"]', evilWorker);
  await page.waitForURL(/worker=/);
  assert.match((await page.locator('h1').textContent()) ?? '', evilWorker);
  await noScriptRan('list');

  await page.goto(`http://127.0.0.1:${guarded.port}/jobs/${completed}`);
  assert.match((await page.locator('[data-field="payload"]').textContent()) ?? '', JSON.stringify(xss).slice(1, -1));
  assert.match((await page.locator('[data-field="result"]').textContent()) ?? '', JSON.stringify(xss).slice(1, -1));
  await noScriptRan('completed job');

  await page.goto(`http://127.0.0.1:${guarded.port}/jobs/${failed}`);
  await page.locator('#live[data-state="open"]').waitFor({ timeout: 10_000 });
  assert.is((await page.locator('[data-field="lastError"]').textContent()) ?? '', `Error: boom ${xss}`);
  assert.match((await page.locator('#timeline').textContent()) ?? '', `Error: boom ${xss}`);
  await noScriptRan('failed job');

  // The live path too: retry (attempt 2 fails the same way); the new rows arrive over server-sent events.
  page.once('dialog', (d) => void d.accept());
  await page.click('button[data-action="retry"]');
  await waitFor(async () => (await page.locator('#timeline tr').count()) === 6, 10_000, 'the second attempt to arrive live');
  assert.match((await page.locator('#timeline tr[data-revision="5"]').textContent()) ?? '', `Error: boom ${xss}`);
  await noScriptRan('live timeline');
  assert.equal(problems, [], 'no console error and no CSP violation');
  await browser.close();
  browser = undefined;
});

test.run();
