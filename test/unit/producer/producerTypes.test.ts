// A producer typed by the workers' types, imported as types only (issue 23): the name must be a worker's, the
// payload that worker's. `tsc` (npm run typecheck) checks the @ts-expect-error lines; the run checks that the
// typed producer sends what it is given.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Dispositions, makeMemoryBroker } from '../../../src/broker/index.js';
import { createProducer } from '../../../src/producer/index.js';
import type * as workers from '../../fixtures/workers.js';
import type { WorkerNames } from '../../../src/producer/index.js';

const test = suite('createProducer<typeof workers>');

test('typed by a workers module: names and payloads are checked, and the commands go out as given', async () => {
  const broker = makeMemoryBroker();
  const sent: unknown[] = [];
  const consumer = await broker.consume('jobtrail.enqueue', async (d) => {
    sent.push(JSON.parse(d.body.toString('utf8')));
    return Dispositions.ack;
  });
  const producer = await createProducer<typeof workers>({ broker });
  const names: WorkerNames<typeof workers>[] = ['sleeper', 'rejecter'];
  await producer.enqueue('sleeper', { ms: 5 }, { jobId: 'typed-1' });
  await producer.enqueue('rejecter', { reason: 'no' }, { jobId: 'typed-2' });
  const check = async () => {
    // @ts-expect-error: no worker is named "sleepr"
    await producer.enqueue('sleepr', {});
    // @ts-expect-error: sleeper's ms is a number
    await producer.enqueue('sleeper', { ms: 'soon' });
    // @ts-expect-error: rejecter needs a reason
    await producer.enqueue('rejecter', {});
  };
  assert.type(check, 'function');
  const untyped = await createProducer({ broker });
  await untyped.enqueue('anything', { goes: true }, { jobId: 'untyped-1' });
  for (let i = 0; i < 100 && sent.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(
    sent.map((c) => (c as { workerName: string; jobId: string }).jobId),
    ['typed-1', 'typed-2', 'untyped-1'],
  );
  assert.equal(names.length, 2);
  await producer.close();
  await untyped.close();
  await consumer.stop();
  await broker.close();
});

test.run();
