import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import { suite, type Test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  deadLetterQueueName,
  directReplyTo,
  Dispositions,
  errorHeader,
  maxErrorHeaderLength,
  type Broker,
  type Delivery,
  type Disposition,
  type OutgoingMessage,
} from '../../src/broker/index.js';
import { observeFor, waitFor } from '../support/waitFor.js';

/** What an adapter's test file may add to the contract. */
export interface BrokerContractOptions {
  /** Deletes the queues a test declared (RabbitMQ); the memory broker forgets them on close. */
  readonly deleteQueues?: (names: readonly string[]) => Promise<void>;
}

interface Ctx {
  brokers: Broker[];
  queues: string[];
  /** Releases handlers a test holds, so that a failed test does not leave close() waiting for them. */
  releases: Array<() => void>;
}

const body = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const parse = (d: Delivery): unknown => JSON.parse(d.body.toString('utf8'));

const expectRight = async (task: () => Promise<E.Either<unknown, void>>): Promise<void> => {
  const result = await task();
  if (E.isLeft(result)) assert.unreachable(`expected the publish to succeed, got ${JSON.stringify(result.left)}`);
};

/** A gate a handler waits on until the test opens it (or the test ends). */
const gate = (ctx: Ctx): { wait: Promise<void>; open(): void } => {
  let open = (): void => undefined;
  const wait = new Promise<void>((resolve) => (open = resolve));
  ctx.releases.push(open);
  return { wait, open };
};

/**
 * The broker port's contract: the behaviour every adapter has,
 * checked against `makeBroker`'s brokers. Each test makes its own queues
 * (`test-<uuid>`, and `jobtrail.work.test-<uuid>` for work queues, which
 * RabbitMQ declares as quorum queues) and closes what it opens.
 * Returns the suite; the caller runs it.
 */
export const brokerContract = (name: string, makeBroker: () => Promise<Broker>, options: BrokerContractOptions = {}): Test<Ctx> => {
  const test = suite<Ctx>(`broker contract: ${name}`);

  test.before.each((ctx) => {
    ctx.brokers = [];
    ctx.queues = [];
    ctx.releases = [];
  });
  test.after.each(async (ctx) => {
    for (const release of ctx.releases) release();
    for (const broker of ctx.brokers) await broker.close();
    if (options.deleteQueues !== undefined && ctx.queues.length > 0) await options.deleteQueues(ctx.queues);
  });

  const open = async (ctx: Ctx): Promise<Broker> => {
    const broker = await makeBroker();
    ctx.brokers.push(broker);
    return broker;
  };
  /** A fresh queue name (and its dead-letter queue), deleted after the test. */
  const queue = (ctx: Ctx, prefix = 'test-'): string => {
    const q = `${prefix}${randomUUID()}`;
    ctx.queues.push(q, deadLetterQueueName(q));
    return q;
  };

  for (const prefix of ['test-', 'jobtrail.work.test-']) {
    test(`${prefix}: publish, consume and ack, in FIFO order; an acked message does not come back`, async (ctx) => {
      const broker = await open(ctx);
      const q = queue(ctx, prefix);
      for (let i = 1; i <= 5; i += 1) await expectRight(broker.publish(q, { body: body({ n: i }) }));
      const seen: unknown[] = [];
      const consumer = await broker.consume(q, async (d) => {
        seen.push(parse(d));
        return Dispositions.ack;
      });
      await waitFor(() => seen.length === 5, 5_000, 'five deliveries');
      assert.equal(seen, [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }]);
      await consumer.stop();

      // Had any ack been lost, that message would come back before the marker.
      const after: unknown[] = [];
      const second = await broker.consume(q, async (d) => {
        after.push(parse(d));
        return Dispositions.ack;
      });
      await expectRight(broker.publish(q, { body: body('marker') }));
      await waitFor(() => after.length >= 1, 5_000, 'the marker');
      await second.stop();
      assert.equal(after, ['marker']);
    });

    test(`${prefix}: a requeued message comes back flagged redelivered`, async (ctx) => {
      const broker = await open(ctx);
      const q = queue(ctx, prefix);
      const deliveries: Delivery[] = [];
      const consumer = await broker.consume(q, async (d) => {
        deliveries.push(d);
        return deliveries.length === 1 ? Dispositions.requeue : Dispositions.ack;
      });
      await expectRight(broker.publish(q, { body: body('again'), messageId: 'm-requeue' }));
      await waitFor(() => deliveries.length === 2, 5_000, 'the redelivery');
      await consumer.stop();
      const [first, second] = deliveries as [Delivery, Delivery];
      assert.is(first.redelivered, false);
      assert.is(second.redelivered, true);
      assert.is(second.messageId, 'm-requeue');
      assert.equal(parse(second), 'again');
    });
  }

  test('messageId, headers, correlationId, replyTo and contentType are preserved; defaults are set', async (ctx) => {
    const broker = await open(ctx);
    const q = queue(ctx);
    const got: Delivery[] = [];
    const consumer = await broker.consume(q, async (d) => {
      got.push(d);
      return Dispositions.ack;
    });
    await expectRight(
      broker.publish(q, {
        body: Buffer.from('<x/>'),
        messageId: 'id-1',
        headers: { 'x-text': 'a b', 'x-int': 42, 'x-big': 1_760_000_000_123, 'x-float': 1.5, 'x-flag': true },
        correlationId: 'corr-1',
        replyTo: 'some-queue',
        contentType: 'application/xml',
      }),
    );
    await expectRight(broker.publish(q, { body: body({}) }));
    await waitFor(() => got.length === 2, 5_000, 'two deliveries');
    await consumer.stop();
    const [a, b] = got as [Delivery, Delivery];
    assert.is(a.queue, q);
    assert.is(a.body.toString(), '<x/>');
    assert.is(a.messageId, 'id-1');
    assert.equal(
      { ...a.headers },
      { ...a.headers, 'x-text': 'a b', 'x-int': 42, 'x-big': 1_760_000_000_123, 'x-float': 1.5, 'x-flag': true },
    );
    assert.is(a.correlationId, 'corr-1');
    assert.is(a.replyTo, 'some-queue');
    assert.is(a.contentType, 'application/xml');
    assert.is(a.redelivered, false);
    assert.ok(typeof b.messageId === 'string' && b.messageId.length > 0, 'a message id is generated');
    assert.is.not(b.messageId, a.messageId);
    assert.is(b.contentType, 'application/json');
    assert.is(b.correlationId, undefined);
    assert.is(b.replyTo, undefined);
  });

  test('a handler that throws has its delivery requeued and redelivered', async (ctx) => {
    const broker = await open(ctx);
    const q = queue(ctx);
    const flags: boolean[] = [];
    const consumer = await broker.consume(q, async (d) => {
      flags.push(d.redelivered);
      if (flags.length === 1) throw new Error('boom');
      return Dispositions.ack;
    });
    await expectRight(broker.publish(q, { body: body('x') }));
    await waitFor(() => flags.length === 2, 5_000, 'the redelivery after the throw');
    await consumer.stop();
    assert.equal(flags, [false, true]);
  });

  test('stop waits for running handlers and applies what they return', async (ctx) => {
    const broker = await open(ctx);
    const q = queue(ctx);
    const hold = gate(ctx);
    let started = 0;
    const consumer = await broker.consume(q, async () => {
      started += 1;
      await hold.wait;
      return Dispositions.ack;
    });
    await expectRight(broker.publish(q, { body: body('slow') }));
    await waitFor(() => started === 1, 5_000, 'the handler to start');
    let stopped = false;
    const stopping = consumer.stop().then(() => (stopped = true));
    await observeFor(150);
    assert.is(stopped, false, 'stop returned while a handler was still running');
    hold.open();
    await stopping;

    const after: unknown[] = [];
    const next = await broker.consume(q, async (d) => {
      after.push(parse(d));
      return Dispositions.ack;
    });
    await expectRight(broker.publish(q, { body: body('marker') }));
    await waitFor(() => after.length >= 1, 5_000, 'the marker');
    await next.stop();
    assert.equal(after, ['marker'], 'the ack returned during stop was applied');
  });

  test('a consumer stopped with unsettled deliveries gives them to the next consumer, redelivered', async (ctx) => {
    const broker = await open(ctx);
    const q = queue(ctx);
    const hold = gate(ctx);
    const held: Delivery[] = [];
    const first = await broker.consume(
      q,
      async (d) => {
        held.push(d);
        await hold.wait;
        return Dispositions.ack;
      },
      { prefetch: 2 },
    );
    await expectRight(broker.publish(q, { body: body(1), messageId: 'u-1' }));
    await expectRight(broker.publish(q, { body: body(2), messageId: 'u-2' }));
    await waitFor(() => held.length === 2, 5_000, 'two held deliveries');
    await first.stop({ graceMs: 0 });
    assert.ok(
      held.every((d) => d.lost?.aborted === true),
      'the lost signal of the given-up deliveries is aborted',
    );

    const again: Delivery[] = [];
    const second = await broker.consume(
      q,
      async (d) => {
        again.push(d);
        return Dispositions.ack;
      },
      { prefetch: 2 },
    );
    await waitFor(() => again.length === 2, 5_000, 'the redeliveries');
    // The first handler's late ack must change nothing: the messages were given back.
    hold.open();
    await expectRight(broker.publish(q, { body: body('marker') }));
    await waitFor(() => again.length === 3, 5_000, 'the marker');
    await second.stop();
    assert.equal(
      again.map((d) => [d.messageId, d.redelivered]),
      [
        ['u-1', true],
        ['u-2', true],
        [again[2]?.messageId, false],
      ],
    );
    assert.equal(parse(again[2] as Delivery), 'marker');
  });

  test('prefetch bounds the unsettled deliveries of a consumer', async (ctx) => {
    const broker = await open(ctx);
    const q = queue(ctx, 'jobtrail.work.test-');
    const held: Array<() => void> = [];
    ctx.releases.push(() => held.forEach((release) => release()));
    let running = 0;
    let most = 0;
    let done = 0;
    const consumer = await broker.consume(
      q,
      async () => {
        running += 1;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => held.push(resolve));
        running -= 1;
        done += 1;
        return Dispositions.ack;
      },
      { prefetch: 2 },
    );
    for (let i = 0; i < 6; i += 1) await expectRight(broker.publish(q, { body: body(i) }));
    for (let round = 1; round <= 3; round += 1) {
      await waitFor(() => held.length === 2, 5_000, `two deliveries in round ${round}`);
      await observeFor(150);
      assert.is(held.length, 2, `no third delivery while two are unsettled (round ${round})`);
      for (const release of held.splice(0)) release();
      await waitFor(() => done === round * 2, 5_000, `round ${round} to settle`);
    }
    await consumer.stop();
    assert.is(most, 2);
  });

  test('two consumers share a queue; each message is delivered once when acked', async (ctx) => {
    const broker = await open(ctx);
    const q = queue(ctx);
    const byConsumer: [string[], string[]] = [[], []];
    const consumers = await Promise.all(
      byConsumer.map((seen) =>
        broker.consume(q, async (d) => {
          seen.push(d.messageId ?? '');
          // Hold each a moment so that both consumers get some.
          await new Promise((resolve) => setTimeout(resolve, 5));
          return Dispositions.ack;
        }),
      ),
    );
    const ids = Array.from({ length: 20 }, (_, i) => `share-${i}`);
    for (const id of ids) await expectRight(broker.publish(q, { body: body(id), messageId: id }));
    await waitFor(() => byConsumer[0].length + byConsumer[1].length >= 20, 10_000, 'twenty deliveries');
    await observeFor(100);
    for (const c of consumers) await c.stop();
    const all = [...byConsumer[0], ...byConsumer[1]];
    assert.is(all.length, 20, 'no message was delivered twice');
    assert.equal([...all].sort(), [...ids].sort());
    assert.ok(
      byConsumer[0].length > 0 && byConsumer[1].length > 0,
      `both consumers took some: ${byConsumer[0].length} / ${byConsumer[1].length}`,
    );
  });

  test('a delayed message is not delivered before its delay, and within a second after (2 s)', async (ctx) => {
    const broker = await open(ctx);
    const q = queue(ctx, 'jobtrail.work.test-');
    const arrivals: Array<[unknown, number]> = [];
    const consumer = await broker.consume(q, async (d) => {
      arrivals.push([parse(d), Date.now()]);
      return Dispositions.ack;
    });
    const sentAt = Date.now();
    await expectRight(broker.publish(q, { body: body('later'), delayMs: 2_000, headers: { 'x-kept': 'yes' } }));
    await expectRight(broker.publish(q, { body: body('now') }));
    await waitFor(() => arrivals.length === 2, 6_000, 'both messages');
    await consumer.stop();
    assert.equal(
      arrivals.map(([v]) => v),
      ['now', 'later'],
    );
    const lateBy = (arrivals[1] as [unknown, number])[1] - sentAt - 2_000;
    assert.ok(lateBy >= 0, `delivered ${-lateBy} ms early`);
    assert.ok(lateBy <= 1_000, `delivered ${lateBy} ms late`);
  });

  test('a delayed message keeps its id, headers and correlation id', async (ctx) => {
    const broker = await open(ctx);
    const q = queue(ctx);
    const got: Delivery[] = [];
    const consumer = await broker.consume(q, async (d) => {
      got.push(d);
      return Dispositions.ack;
    });
    await expectRight(
      broker.publish(q, { body: body('d'), delayMs: 300, messageId: 'delayed-1', headers: { 'x-a': 'b' }, correlationId: 'c-9' }),
    );
    await waitFor(() => got.length === 1, 5_000, 'the delayed message');
    await consumer.stop();
    const d = got[0] as Delivery;
    assert.is(d.messageId, 'delayed-1');
    assert.is(d.correlationId, 'c-9');
    assert.is(d.headers['x-a'], 'b');
    assert.ok(
      !Object.keys(d.headers).some((k) => k.startsWith('x-jobtrail-delay') || k.startsWith('x-death')),
      `no internal headers: ${Object.keys(d.headers).join(', ')}`,
    );
  });

  test('dead-letter moves the message, body and headers intact, with the reason', async (ctx) => {
    const broker = await open(ctx);
    const q = queue(ctx, 'jobtrail.work.test-');
    const consumer = await broker.consume(q, async () => Dispositions.deadLetter('unknown stream job-42'));
    const payload = Buffer.from([0, 1, 2, 250, 255]);
    await expectRight(broker.publish(q, { body: payload, messageId: 'dl-1', headers: { 'x-origin': 'test' }, correlationId: 'c-dl' }));

    const dead: Delivery[] = [];
    const deadConsumer = await broker.consume(deadLetterQueueName(q), async (d) => {
      dead.push(d);
      return Dispositions.ack;
    });
    await waitFor(() => dead.length === 1, 5_000, 'the dead-lettered message');
    await consumer.stop();
    await deadConsumer.stop();
    const d = dead[0] as Delivery;
    assert.ok(d.body.equals(payload), 'the body is intact');
    assert.is(d.headers[errorHeader], 'unknown stream job-42');
    assert.is(d.headers['x-origin'], 'test');
    assert.is(d.messageId, 'dl-1');
    assert.is(d.correlationId, 'c-dl');
    assert.is(d.redelivered, false);
  });

  test("dead-letter goes to the consumer's deadLetterQueue when it names one", async (ctx) => {
    const broker = await open(ctx);
    const q = queue(ctx);
    const dlq = queue(ctx);
    const consumer = await broker.consume(q, async () => Dispositions.deadLetter('rejected'), { deadLetterQueue: dlq });
    await expectRight(broker.publish(q, { body: body('r') }));
    const dead: Delivery[] = [];
    const deadConsumer = await broker.consume(dlq, async (d) => {
      dead.push(d);
      return Dispositions.ack;
    });
    await waitFor(() => dead.length === 1, 5_000, 'the dead-lettered message');
    await consumer.stop();
    await deadConsumer.stop();
    assert.equal(parse(dead[0] as Delivery), 'r');
    assert.is((dead[0] as Delivery).headers[errorHeader], 'rejected');
  });

  test('a dead-letter reason quoting huge input is cut to fit a header, the body kept whole', async (ctx) => {
    const broker = await open(ctx);
    const q = queue(ctx);
    const dlq = queue(ctx);
    const reason = `unknown worker "${'x'.repeat(300_000)}"`;
    const consumer = await broker.consume(q, async () => Dispositions.deadLetter(reason), { deadLetterQueue: dlq });
    const big = Buffer.from(JSON.stringify({ workerName: 'x'.repeat(300_000) }));
    await expectRight(broker.publish(q, { body: big }));
    const dead: Delivery[] = [];
    const deadConsumer = await broker.consume(dlq, async (d) => {
      dead.push(d);
      return Dispositions.ack;
    });
    await waitFor(() => dead.length === 1, 5_000, 'the dead-lettered message');
    await consumer.stop();
    await deadConsumer.stop();
    const header = String((dead[0] as Delivery).headers[errorHeader]);
    assert.ok(header.length <= maxErrorHeaderLength, `header of ${header.length} characters`);
    assert.ok(header.startsWith('unknown worker "xxx'), header.slice(0, 40));
    assert.match(header, `(${reason.length} characters in all)`);
    assert.ok((dead[0] as Delivery).body.equals(big), 'the body is intact');
  });

  test('a reply channel receives the replies to the requests it publishes', async (ctx) => {
    const broker = await open(ctx);
    const q = queue(ctx);
    const server = await broker.consume(q, async (d) => {
      assert.ok(d.replyTo !== undefined, 'the request carries a reply address');
      const reply: OutgoingMessage = { body: body({ echo: parse(d) }), correlationId: d.correlationId };
      await expectRight(broker.reply(d.replyTo as string, reply));
      return Dispositions.ack;
    });
    const replies: Delivery[] = [];
    const channel = await broker.openReplyChannel((d) => replies.push(d));
    assert.is(channel.address, directReplyTo);
    await expectRight(channel.publish(q, { body: body('ping-1'), correlationId: 'r-1' }));
    await expectRight(channel.publish(q, { body: body('ping-2'), correlationId: 'r-2' }));
    await waitFor(() => replies.length === 2, 5_000, 'two replies');
    assert.equal(
      replies.map((r) => [r.correlationId, parse(r)]),
      [
        ['r-1', { echo: 'ping-1' }],
        ['r-2', { echo: 'ping-2' }],
      ],
    );
    assert.throws(() => broker.publish(q, { body: body('x'), replyTo: channel.address }), /ReplyChannel/);
    await channel.stop();
    await server.stop();
  });

  test('after close, publishing is BrokerUnavailable', async (ctx) => {
    const broker = await makeBroker();
    const q = queue(ctx);
    await expectRight(broker.publish(q, { body: body(1) }));
    await broker.close();
    const result = await broker.publish(q, { body: body(2) })();
    assert.ok(E.isLeft(result) && result.left._tag === 'BrokerUnavailable');
    if (E.isLeft(result)) assert.match(result.left.message, /closed/);
  });

  test('invalid queue names and prefetch values are refused with the value', async (ctx) => {
    const broker = await open(ctx);
    assert.throws(() => broker.publish('', { body: body(1) }), /invalid queue name ""/);
    let error: unknown;
    await broker
      .consume(queue(ctx), async (): Promise<Disposition> => Dispositions.ack, { prefetch: 0 })
      .catch((e: unknown) => (error = e));
    assert.instance(error, RangeError);
    assert.match(String(error), /prefetch must be a positive integer, got 0/);
  });

  return test;
};
