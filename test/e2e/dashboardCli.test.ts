import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore } from '../../src/backends/index.js';
import { runJobtrail, spawnJobtrail } from '../support/cli.js';
import { waitFor } from '../support/waitFor.js';

// Stays on SQLite (not testStore.ts): it counts every job of the store (the overview API) and checks the banner's `store sqlite`.
const test = suite('jobtrail dashboard and demo --dashboard, spawned as a user runs them');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-dashboard-cli-'));
const store = `sqlite:${join(dir, 'events.db')}`;
const children = new Set<ChildProcess>();

// The dashboard only reads, so it never creates a store (issue 22): make the empty one it shows.
test.before(async () => {
  await (await makeStore(store)).close();
});

test.after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Starts `jobtrail …` and collects its output; the test ends it. */
const start = (args: string[], env: Record<string, string> = {}) => {
  // In the temporary folder: the demo writes its CSV files under ./.jobtrail/demo.
  const child = spawnJobtrail(args, { env, cwd: dir });
  children.add(child);
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => (out.stdout += d));
  child.stderr!.on('data', (d) => (out.stderr += d));
  return { child, out, exited: once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]> };
};

/** Sends `signal` and waits (at most 15 s) for the exit code. */
const stop = async (p: ReturnType<typeof start>, signal: NodeJS.Signals): Promise<number | null> => {
  p.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const [code] = await Promise.race([
    p.exited,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no exit within 15 s of ${signal}`)), 15_000))),
  ]).finally(() => clearTimeout(timer));
  return code;
};

const urlIn = (text: string): string | undefined => /(http:\/\/[^\s]+\/)/.exec(text)?.[1];

test('dashboard serves until SIGINT, prints its URL, and exits 0', async () => {
  const p = start(['dashboard', '--store', store, '--port', '0']);
  await waitFor(() => urlIn(p.out.stdout) !== undefined || p.child.exitCode !== null, 30_000, 'the URL to be printed');
  const url = urlIn(p.out.stdout);
  assert.ok(url, `printed a URL: ${p.out.stdout} ${p.out.stderr}`);
  assert.match(p.out.stdout, /^jobtrail dashboard: http:\/\/127\.0\.0\.1:\d+\/ \(store sqlite, broker memory\); Ctrl-C stops/);
  const r = await fetch(new URL('api/overview', url));
  assert.is(r.status, 200);
  assert.equal(((await r.json()) as { counts: unknown }).counts, {
    initial: 0,
    awaiting: 0,
    in_progress: 0,
    awaiting_retry: 0,
    failed: 0,
    completed: 0,
    cancelled: 0,
    total: 0,
  });
  assert.is(await stop(p, 'SIGINT'), 0, p.out.stderr);
  assert.match(p.out.stderr, 'SIGINT: stopping');
});

test('dashboard on a non-loopback address: refused without a token, served with JOBTRAIL_DASHBOARD_TOKEN', async () => {
  const refused = await runJobtrail(['dashboard', '--store', store, '--host', '0.0.0.0', '--port', '0']);
  assert.is(refused.code, 2);
  assert.match(refused.stderr, 'refusing to serve the dashboard on 0.0.0.0 without a token');
  const short = await runJobtrail(['dashboard', '--store', store, '--token', 'secret', '--port', '0']);
  assert.is(short.code, 2);
  assert.match(short.stderr, 'at least 16 characters');
  const badPort = await runJobtrail(['dashboard', '--store', store, '--port', 'http']);
  assert.is.not(badPort.code, 0);
  assert.match(badPort.stderr, '--port must be a whole number from 0 to 65535');

  const token = 'a-long-enough-dashboard-token';
  const p = start(['dashboard', '--store', store, '--host', '0.0.0.0', '--port', '0'], { JOBTRAIL_DASHBOARD_TOKEN: token });
  await waitFor(
    () => p.out.stdout.includes('the dashboard requires its token') || p.child.exitCode !== null,
    30_000,
    'the URL and the token notice to be printed',
  );
  const port = new URL(urlIn(p.out.stdout) ?? 'http://x:1/').port;
  assert.match(p.out.stdout, 'the dashboard requires its token');
  assert.not.match(p.out.stdout, token, 'the token is not printed');
  assert.is((await fetch(`http://127.0.0.1:${port}/api/overview`)).status, 401);
  assert.is((await fetch(`http://127.0.0.1:${port}/api/overview`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  assert.is(await stop(p, 'SIGTERM'), 0, p.out.stderr);
});

test("demo --dashboard serves the demo's jobs live and keeps serving after the demo, until Ctrl-C", async () => {
  const p = start(['demo', '--store', store, '--emails', '20', '--imports', '1', '--dashboard', '--port', '0']);
  await waitFor(() => p.out.stdout.includes('keeps serving') || p.child.exitCode !== null, 90_000, 'the demo to finish');
  assert.is(p.child.exitCode, null, `still serving after the demo: ${p.out.stderr}`);
  const url = urlIn(p.out.stdout);
  assert.ok(url, p.out.stdout);
  assert.match(p.out.stdout, `dashboard: ${url}`);
  assert.match(p.out.stdout, `the dashboard keeps serving the demo's jobs at ${url} — Ctrl-C stops`);
  const overview = (await (await fetch(new URL('api/overview', url))).json()) as {
    counts: { total: number; completed: number; failed: number };
  };
  assert.is(overview.counts.total, 21);
  assert.is(overview.counts.completed + overview.counts.failed, 21, 'every demo job is final');
  const page = await fetch(new URL('jobs?status=completed', url));
  assert.is(page.status, 200);
  assert.match(await page.text(), 'send-email');
  assert.is(await stop(p, 'SIGINT'), 0, p.out.stderr);
});

test.run();
