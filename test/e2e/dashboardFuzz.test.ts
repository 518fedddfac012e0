import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, defineWorker } from '../../src/index.js';
import { runDashboard } from '../../src/dashboard/index.js';
import { readyTestStore, testJobId, testStoreUrl } from '../support/testStore.js';

const test = suite("the dashboard's endpoints under a generated corpus of bad requests");
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-dashboard-fuzz-'));
test.before(readyTestStore);
test.after(() => rmSync(dir, { recursive: true, force: true }));
/** The job the requests aim at: unique per run on a shared EventStoreDB (testJobId). */
const fuzzTarget = testJobId('fuzz-target');

const send = (port: number, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<number> =>
  new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      // A live stream (server-sent events) never ends by itself: its status is the answer.
      if (String(res.headers['content-type']).startsWith('text/event-stream')) {
        resolve(res.statusCode ?? 0);
        req.destroy();
        return;
      }
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });

test('1,000 random requests: never a 5xx, never a crash; every job untouched', async () => {
  const w = defineWorker({ name: 'noop', action: async () => 'ok' });
  const engine = await createEngine({ store: testStoreUrl(dir), workers: [w] });
  await engine.start();
  const { jobId } = await engine.enqueue('noop', {}, { jobId: fuzzTarget });
  await engine.waitForFinal([jobId], { timeoutMs: 10_000 });
  const dashboard = await runDashboard({ engine, port: 0 });
  const port = Number(new URL(dashboard.url).port);
  try {
    const segment = fc.oneof(
      fc.string({ maxLength: 20 }).map(encodeURIComponent),
      fc.constantFrom(
        'api',
        'jobs',
        'job',
        'events',
        'assets',
        fuzzTarget,
        '..',
        '%00',
        '%2e%2e',
        'retry',
        'cancel',
        'overview',
        '__proto__',
      ),
    );
    const corpus = fc.sample(
      fc.record({
        method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'),
        path: fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => `/${s.join('/')}`),
        query: fc.option(
          fc.dictionary(fc.constantFrom('status', 'worker', 'after', 'id', 'token', '__proto__'), fc.string({ maxLength: 30 })),
          { nil: undefined },
        ),
        contentType: fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data', ''),
        body: fc.option(
          fc.oneof(
            fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
            fc.json().map((j) => Buffer.from(j)),
            fc.constant(Buffer.from('{"by":' + '['.repeat(5000) + ']'.repeat(5000) + '}')),
            fc.constant(Buffer.alloc(40_000, 'a')),
            fc.constant(Buffer.from('{"__proto__":{"admin":true},"by":"x"}')),
          ),
          { nil: undefined },
        ),
      }),
      { numRuns: 1000, seed: 11 },
    );
    const statuses = new Map<number, number>();
    for (const c of corpus) {
      const query = c.query ? `?${new URLSearchParams(c.query as Record<string, string>).toString()}` : '';
      const headers: Record<string, string> = c.contentType ? { 'content-type': c.contentType } : {};
      let status: number;
      try {
        status = await send(port, c.method, `${c.path}${query}`, headers, c.method === 'GET' || c.method === 'HEAD' ? undefined : c.body);
      } catch (error) {
        // The server may cut an oversized upload short; it must still answer the next request.
        status = -1;
        assert.match(String((error as Error).message), /ECONNRESET|EPIPE|socket hang up/);
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      assert.ok(status < 500, `${c.method} ${c.path}${query} answered ${status}`);
    }
    assert.is(await send(port, 'GET', '/', {}), 200, 'still serving');
    assert.ok(
      [...statuses.keys()].some((s) => s >= 400 && s < 500),
      `bad requests were refused (${[...statuses.entries()].map(([s, n]) => `${s}×${n}`).join(' ')})`,
    );
    const view = await engine.getJob(fuzzTarget);
    assert.is(view?.status, 'completed');
    assert.is((await engine.history(fuzzTarget)).length, 3, 'no action went through: the action endpoints need the page CSRF token');
    assert.is(({} as Record<string, unknown>)['admin'], undefined);
  } finally {
    await dashboard.stop();
    await engine.close();
  }
});

test.run();
