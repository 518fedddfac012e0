import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as t from 'io-ts';
import type * as amqp from 'amqplib';
import { makeStore } from '../../src/backends/index.js';
import { makeRabbitBroker } from '../../src/broker/index.js';
import { createEngine } from '../../src/engine.js';
import { defineWorker } from '../../src/worker/index.js';
import { runCli } from '../../src/cli/main.js';
import { badCommands, badPayloadArguments } from '../support/badInput.js';
import { deleteQueues, openRawChannel, rabbitUrl } from '../support/rabbit.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('bad input, broadly: a generated corpus');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-bad-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('1,200 malformed enqueue commands are each rejected with a reason; valid ones between them all complete', async () => {
  const queue = `test-${randomUUID()}`;
  const store = await makeStore('sqlite::memory:');
  const broker = await makeRabbitBroker({ url: rabbitUrl });
  const w = defineWorker({ name: `mail-${queue}`, queue, payload: t.type({ to: t.string }), action: async (p) => p.to });
  const commandQueue = `test-${randomUUID()}.enqueue`;
  const engine = await createEngine({ store, broker, workers: [w], commandQueue });
  const raw = await openRawChannel();
  const corpus = badCommands(w.name, 1200);
  const rejected = new Map<string, { reason: string; body: Buffer }>();
  try {
    await engine.start();
    await raw.channel.assertQueue(`${commandQueue}.rejected`, { durable: true });
    await raw.channel.consume(`${commandQueue}.rejected`, (m: amqp.ConsumeMessage | null) => {
      if (!m) return;
      raw.channel.ack(m);
      const id = m.properties.messageId as string | undefined;
      if (id?.startsWith(`bad-${queue}-`))
        rejected.set(id, { reason: String(m.properties.headers?.['x-jobtrail-error'] ?? ''), body: m.content });
    });
    const good: string[] = [];
    corpus.forEach((c, i) => {
      raw.channel.sendToQueue(commandQueue, c.body, { persistent: true, contentType: 'application/json', messageId: `bad-${queue}-${i}` });
      if (i % 20 === 0) {
        const jobId = `good-${queue}-${i}`;
        good.push(jobId);
        raw.channel.sendToQueue(
          commandQueue,
          Buffer.from(JSON.stringify({ workerName: w.name, payload: { to: `${i}@example.com` }, jobId })),
          {
            persistent: true,
            contentType: 'application/json',
          },
        );
      }
    });
    await waitFor(
      () => rejected.size === corpus.length,
      120_000,
      `all ${corpus.length} malformed commands in ${commandQueue}.rejected`,
      100,
    ).catch((error: Error) => {
      const missing = corpus.flatMap((c, i) => (rejected.has(`bad-${queue}-${i}`) ? [] : [c.kind]));
      throw new Error(`${error.message}; ${rejected.size} arrived; missing kinds: ${[...new Set(missing)].join(', ')}`);
    });
    const kinds = new Map<string, number>();
    corpus.forEach((c, i) => {
      const r = rejected.get(`bad-${queue}-${i}`)!;
      assert.ok(r.reason.length > 10, `${c.kind}: a reason (${r.reason})`);
      assert.ok(r.body.equals(c.body), `${c.kind}: body intact`);
      kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
    });
    assert.ok(kinds.size >= 12, `the corpus covers every kind (${[...kinds.keys()].join(', ')})`);
    assert.is(({} as Record<string, unknown>)['polluted'], undefined, 'no prototype was polluted');
    const views = await engine.waitForFinal(good, { timeoutMs: 60_000 });
    assert.ok(views.every((v) => v.status === 'completed'));
    assert.equal(
      views.map((v) => v.result),
      good.map((id) => `${id.split('-').pop()}@example.com`),
    );
  } finally {
    await raw.close();
    await engine.close({ gracePeriodMs: 0 });
    await broker.close();
    await store.close();
    await deleteQueues([`jobtrail.work.${queue}`, `jobtrail.work.${queue}.dead`, commandQueue, `${commandQueue}.rejected`]);
  }
});

test('1,000 bad JSON arguments to the CLI: each refused with a message and a non-zero exit, nothing recorded', async () => {
  const store = `sqlite:${join(dir, 'cli.db')}`;
  const args = badPayloadArguments(1000);
  let refused = 0;
  for (const [i, payload] of args.entries()) {
    const err: string[] = [];
    const code = await runCli(
      ['enqueue', 'rejecter', payload, '--job-id', `cli-bad-${i}`, '--store', store, '--workers', 'test/fixtures/workers.ts'],
      {
        out: () => undefined,
        err: (line) => err.push(line),
        env: { JOBTRAIL_LOG_LEVEL: 'silent' },
      },
    );
    assert.is.not(code, 0, `argument ${JSON.stringify(payload.slice(0, 80))} was accepted`);
    assert.ok(err.join('\n').length > 10, `argument ${JSON.stringify(payload.slice(0, 80))}: a message`);
    refused++;
  }
  assert.is(refused, 1000);
  const engine = await createEngine({ store });
  try {
    assert.equal(await engine.listJobs({ limit: 10 }), [], 'nothing was enqueued');
  } finally {
    await engine.close();
  }
});

test.run();
