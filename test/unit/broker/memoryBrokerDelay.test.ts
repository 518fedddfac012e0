import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Dispositions } from '../../../src/broker/broker.js';
import { makeMemoryBroker } from '../../../src/broker/index.js';
import { waitFor } from '../../support/waitFor.js';

// The in-process broker's delays against the two ways Node's timers betray a
// due time: firing early, and firing at once for a delay over 2^31 − 1 ms.
const test = suite('memory broker: delayed delivery is never early');

const day = 24 * 60 * 60 * 1000;

test('timers that fire early (as rounding makes them) do not make a delivery early', async () => {
  const realSetTimeout = globalThis.setTimeout;
  // Every timer fires 15 ms before it is due.
  globalThis.setTimeout = ((fn: () => void, ms?: number) => realSetTimeout(fn, Math.max(0, (ms ?? 0) - 15))) as typeof setTimeout;
  const broker = makeMemoryBroker();
  try {
    const arrivals: number[] = [];
    const consumer = await broker.consume('jobtrail.work.early', async () => {
      arrivals.push(Date.now());
      return Dispositions.ack;
    });
    const due: number[] = [];
    for (const delayMs of [1, 5, 20, 50, 120]) {
      due.push(Date.now() + delayMs);
      const r = await broker.publish('jobtrail.work.early', { body: Buffer.from('{}'), delayMs })();
      assert.is(r._tag, 'Right');
    }
    await waitFor(() => arrivals.length === due.length, 5_000, 'every delayed message');
    await consumer.stop();
    const sorted = [...arrivals].sort((a, b) => a - b);
    due.forEach((d, i) => assert.ok(sorted[i]! >= d, `message ${i} delivered ${d - sorted[i]!} ms before it was due`));
  } finally {
    globalThis.setTimeout = realSetTimeout;
    await broker.close();
  }
});

test('a delay past 24.8 days waits (no delivery, no TimeoutOverflowWarning), and close clears it', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  const broker = makeMemoryBroker();
  try {
    let delivered = 0;
    const consumer = await broker.consume('jobtrail.work.far', async () => {
      delivered++;
      return Dispositions.ack;
    });
    for (const delayMs of [25 * day, 60 * day, 365 * day, Date.parse('9999-12-31T00:00:00Z') - Date.now()]) {
      const r = await broker.publish('jobtrail.work.far', { body: Buffer.from('{}'), delayMs })();
      assert.is(r._tag, 'Right');
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    await consumer.stop();
    assert.is(delivered, 0, 'nothing is delivered before its time');
    assert.equal(
      warnings.filter((w) => w.startsWith('TimeoutOverflowWarning')),
      [],
    );
  } finally {
    process.off('warning', onWarning);
    await broker.close();
  }
});

test.run();
