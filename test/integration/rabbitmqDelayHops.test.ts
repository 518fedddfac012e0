import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  delayLevelTtlMs,
  delayQueueName,
  maxDelayLevel,
  planDelayHop,
  planDelayRoute,
  type DelayHop,
} from '../../src/broker/rabbitmq/delayHops.js';
import { queueDeclaration } from '../../src/broker/rabbitmq/queueDeclaration.js';

// The hop arithmetic of RabbitMQ's delayed delivery, as pure functions (no server).
const test = suite('rabbitmq delay hops (pure)');

const hops = (route: readonly DelayHop[]): number[] => route.flatMap((h) => (h._tag === 'Hop' ? [h.level] : []));
const waited = (route: readonly DelayHop[]): number =>
  route.reduce((sum, h) => sum + (h._tag === 'Hop' ? h.ttlMs : h._tag === 'Wait' ? h.ms : 0), 0);

test('due or overdue: deliver', () => {
  assert.equal(planDelayHop(0), { _tag: 'Deliver' });
  assert.equal(planDelayHop(-5_000), { _tag: 'Deliver' });
});

test('under a second: wait in-process, rounded up so never early', () => {
  assert.equal(planDelayHop(1), { _tag: 'Wait', ms: 1 });
  assert.equal(planDelayHop(0.2), { _tag: 'Wait', ms: 1 });
  assert.equal(planDelayHop(999.1), { _tag: 'Wait', ms: 1000 });
});

test('the largest level not longer than what remains', () => {
  const table: Array<[number, number]> = [
    [1_000, 0],
    [1_999, 0],
    [2_000, 1],
    [3_999, 1],
    [4_000, 2],
    [5_000, 2],
    [70_000, 6],
    [3_600_000, 11], // 1 h: 2048 s
    [86_400_000, 16], // 1 day: 65 536 s
    [14 * 86_400_000, 20], // 2 weeks: 1 048 576 s
    [delayLevelTtlMs(maxDelayLevel), maxDelayLevel],
    [400 * 86_400_000, maxDelayLevel], // longer than the top level: capped, it hops again
  ];
  for (const [remaining, level] of table) {
    const hop = planDelayHop(remaining);
    assert.equal(hop, { _tag: 'Hop', level, ttlMs: delayLevelTtlMs(level) }, `${remaining} ms`);
  }
});

test('routes of 2 s, 5 s and 70 s', () => {
  assert.equal(hops(planDelayRoute(2_000)), [1]);
  assert.equal(hops(planDelayRoute(5_000)), [2, 0]);
  assert.equal(hops(planDelayRoute(70_000)), [6, 2, 1]);
  assert.equal(planDelayRoute(70_000).at(-1), { _tag: 'Deliver' });
  assert.equal(planDelayRoute(2_500), [{ _tag: 'Hop', level: 1, ttlMs: 2_000 }, { _tag: 'Wait', ms: 500 }, { _tag: 'Deliver' }]);
});

test('every route adds up to the delay exactly, never a hop longer than what remains, at most one hop per level below the top', () => {
  // A deterministic spread of delays from 1 ms to 200 days.
  let x = 12345;
  const next = (): number => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
  const delays = [
    1,
    999,
    1_000,
    1_001,
    65_535,
    2 ** 22 * 1000 + 1,
    ...Array.from({ length: 2_000 }, () => Math.ceil(Math.exp(next() * Math.log(200 * 86_400_000)))),
  ];
  for (const delay of delays) {
    const route = planDelayRoute(delay);
    assert.is(waited(route), Math.ceil(delay), `route of ${delay} ms`);
    let remaining = delay;
    for (const hop of route) {
      if (hop._tag === 'Hop') {
        assert.ok(hop.ttlMs <= remaining, `hop of ${hop.ttlMs} ms with ${remaining} ms left`);
        remaining -= hop.ttlMs;
      }
    }
    const belowTop = hops(route).filter((l) => l < maxDelayLevel);
    assert.is(new Set(belowTop).size, belowTop.length, `levels repeat in the route of ${delay} ms: ${hops(route).join(',')}`);
    assert.ok(
      belowTop.every((l, i) => i === 0 || l < (belowTop[i - 1] as number)),
      `levels must shrink: ${hops(route).join(',')}`,
    );
  }
});

test('NaN is a defect, not a delivery', () => {
  assert.throws(() => planDelayHop(Number.NaN), /NaN/);
});

test("queue declarations: quorum work queues, quorum TTL delay queues dead-lettering at least once to the router's quorum queue, classic otherwise", () => {
  assert.equal(queueDeclaration('jobtrail.work.default'), { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  assert.is(delayQueueName(3), 'jobtrail.delay.quorum.3');
  assert.equal(queueDeclaration(delayQueueName(3)), {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-message-ttl': 8_000,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': 'jobtrail.delay.expired',
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    },
  });
  assert.equal((queueDeclaration(delayQueueName(maxDelayLevel)).arguments as Record<string, number>)['x-message-ttl'], 4_194_304_000);
  assert.ok(4_194_304_000 < 2 ** 32, "the top TTL fits RabbitMQ's 32-bit x-message-ttl");
  assert.equal(queueDeclaration(delayQueueName(maxDelayLevel + 1)), { durable: true }, 'no level above the top');
  // The classic delay queues of earlier versions are never declared again (their arguments differ).
  assert.equal(queueDeclaration('jobtrail.delay.3'), { durable: true });
  // Where they dead-letter: quorum too.
  assert.equal(queueDeclaration('jobtrail.delay.expired'), { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  assert.equal(queueDeclaration('jobtrail.delay.expired.dead'), { durable: true });
  assert.equal(queueDeclaration('jobtrail.enqueue'), { durable: true });
  assert.equal(queueDeclaration('test-abc'), { durable: true });
});

test.run();
