// The metrics endpoint of `jobtrail run --metrics-port` (src/metrics/server.ts): what it answers, and its refusals.
import { createServer } from 'node:net';
import { Registry } from 'prom-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { attachMetrics, MetricsServerError, serveMetrics } from '../../../src/metrics/index.js';

const test = suite('metrics: the /metrics server');

test('GET /metrics answers the registry as Prometheus text; other paths and methods are refused, a failed scrape is a 500', async () => {
  const registry = new Registry();
  attachMetrics({ registry });
  const server = await serveMetrics({ registry, port: 0 });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const ok = await fetch(server.url);
    assert.is(ok.status, 200);
    assert.match(ok.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(await ok.text(), /# TYPE jobtrail_jobs_started_total counter/);
    const head = await fetch(server.url, { method: 'HEAD' });
    assert.is(head.status, 200);
    const other = await fetch(server.url.replace('/metrics', '/nope'));
    assert.is(other.status, 404);
    assert.match(await other.text(), /the metrics are at \/metrics/);
    const post = await fetch(server.url, { method: 'POST' });
    assert.is(post.status, 405);
    assert.is(post.headers.get('allow'), 'GET, HEAD');
    await post.text();
  } finally {
    await server.stop();
  }
  const broken = await serveMetrics({
    registry: { contentType: 'text/plain', metrics: () => Promise.reject(new Error('a collector blew up')) } as never,
    port: 0,
  });
  try {
    const failed = await fetch(broken.url);
    assert.is(failed.status, 500);
    assert.match(await failed.text(), /a collector blew up/);
  } finally {
    await broken.stop();
  }
});

test('a port in use, a port out of range and an address not this machine’s are MetricsServerErrors that say what to do', async () => {
  const registry = new Registry();
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as { port: number }).port;
  try {
    const refusal = async (options: Parameters<typeof serveMetrics>[0], message: RegExp) => {
      try {
        const s = await serveMetrics(options);
        await s.stop();
        assert.unreachable('refused');
      } catch (error) {
        assert.instance(error, MetricsServerError);
        assert.match((error as Error).message, message);
      }
    };
    await refusal({ registry, port }, new RegExp(`the metrics port ${port} on 127\\.0\\.0\\.1 is in use`));
    await refusal({ registry, port: 70_000 }, /whole number from 0 to 65535, got 70000/);
    await refusal({ registry, port: 0, host: '192.0.2.1' }, /cannot serve the metrics on 192\.0\.2\.1: EADDRNOTAVAIL/);
  } finally {
    taken.close();
  }
});

test.run();
