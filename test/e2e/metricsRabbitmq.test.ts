// docs/metrics.md with RabbitMQ: a jobtrail run process reports RabbitMQ's own queue depth and consumer counts.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine } from '../../src/index.js';
import { makeSleeper } from '../fixtures/workers.js';
import { spawnJobtrail } from '../support/cli.js';
import { sampleValue, scrape, type Sample } from '../support/promText.js';
import { deleteQueues, rabbitUrl } from '../support/rabbit.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('metrics: jobtrail run on RabbitMQ reports queue depth and consumers');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-metrics-rmq-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a consumed queue shows its consumer; a queue nobody consumes shows its waiting messages', async () => {
  const queue = `test-metrics-${randomUUID()}`;
  const idle = `${queue}-idle`;
  const store = `sqlite:${join(dir, `${queue}.db`)}`;
  const engine = await createEngine({ store, broker: rabbitUrl, workers: [makeSleeper(queue)], acceptCommands: false });
  const child = spawnJobtrail(
    [
      'run',
      '--store',
      store,
      '--broker',
      rabbitUrl,
      '--workers',
      'test/fixtures/workers.ts',
      '--no-accept-commands',
      '--metrics-port',
      '0',
    ],
    { env: { JOBTRAIL_TEST_QUEUE: queue } },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  try {
    await waitFor(() => /SIGTERM or Ctrl-C stops/.test(stderr) || child.exitCode !== null, 60_000, 'jobtrail run to start');
    const url = /metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(stderr)?.[1];
    assert.ok(url !== undefined, stderr);
    const done = [(await engine.enqueue('sleeper', {})).jobId, (await engine.enqueue('sleeper', {})).jobId];
    for (let i = 0; i < 3; i++) await engine.enqueue('sleeper', {}, { queue: idle });
    await engine.waitForFinal(done, { timeoutMs: 30_000 });
    let s: Sample[] = [];
    await waitFor(
      async () => sampleValue((s = await scrape(url)), 'jobtrail_queue_messages', { queue: idle }) === 3,
      30_000,
      'the idle queue’s depth',
    );
    assert.is(sampleValue(s, 'jobtrail_queue_consumers', { queue: idle }), 0);
    assert.is(sampleValue(s, 'jobtrail_queue_consumers', { queue }), 1, 'RabbitMQ counts this process’s consumer');
    assert.is(sampleValue(s, 'jobtrail_queue_messages', { queue }), 0);
    assert.is(sampleValue(s, 'jobtrail_jobs_completed_total', { worker: 'sleeper', queue }), 2);
    assert.is(sampleValue(s, 'jobtrail_metrics_collect_errors_total', { collector: 'queues' }), 0);
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await engine.close({ gracePeriodMs: 0 });
    await deleteQueues([`jobtrail.work.${queue}`, `jobtrail.work.${queue}.dead`, `jobtrail.work.${idle}`, `jobtrail.work.${idle}.dead`]);
  }
});

test.run();
