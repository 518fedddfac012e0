import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { EventRow, Statements } from '../../../src/eventStore/embedded/schema.js';
import { makeSubscriptionSource } from '../../../src/eventStore/embedded/subscriptionSource.js';

const test = suite('embedded subscription source: a subscription to a rare prefix passes what it has read');

const row = (position: number, name: string): EventRow => ({
  position,
  name,
  revision: 0,
  event_id: Buffer.alloc(16),
  type: 'Something',
  data: '{}',
  metadata: null,
  is_json: 1,
  created: 0,
});

test('events of other streams are read once, not again on every wake', async () => {
  const rows: EventRow[] = Array.from({ length: 1000 }, (_, i) => row(i + 1, `job-${i}`));
  const reads: number[] = [];
  const select = (after: number, before: number, limit: number, prefix: string) =>
    rows.filter((r) => r.position > after && r.position < before && r.name.startsWith(prefix)).slice(0, limit < 0 ? undefined : limit);
  const statements = {
    selectHead: { get: () => ({ position: rows.length === 0 ? null : (rows[rows.length - 1] as EventRow).position }) },
    selectAllPrefixed: {
      all: (p: { after: number; before: number; prefix: string; limit: number }) => {
        reads.push(p.after);
        return select(p.after, p.before, p.limit, p.prefix);
      },
    },
    selectAllUser: { all: (after: number, before: number, limit: number) => select(after, before, limit, '') },
  } as unknown as Pick<Statements, 'selectAllUser' | 'selectAllPrefixed' | 'selectHead'>;
  const source = makeSubscriptionSource({
    statements,
    guard: { isClosed: () => false, unavailable: () => new Error('closed') } as never,
    inMemory: true,
    pollIntervalMs: 100,
  });
  const stop = new AbortController();
  const events = source.eventSource({ streamPrefix: 'queue-' })(stop.signal)[Symbol.asyncIterator]();
  const first = events.next();
  await new Promise((r) => setTimeout(r, 20));
  for (let i = 0; i < 5; i++) {
    rows.push(row(rows.length + 1, `job-more-${i}`));
    source.appended();
    await new Promise((r) => setTimeout(r, 5));
  }
  // Each wake reads from where the last read ended (the head), not from the start; a wake with the head not moved reads nothing.
  assert.ok(reads.length >= 2, `reads: ${reads.join(',')}`);
  assert.ok(Math.max(...reads) >= 1003, `reads: ${reads.join(',')}`);
  assert.ok(
    reads.every((a, i) => i === 0 || a > (reads[i - 1] as number)),
    `read the same positions again: ${reads.join(',')}`,
  );
  assert.ok(reads.filter((a) => a === 0).length === 1, `read from the start more than once: ${reads.join(',')}`);
  rows.push(row(rows.length + 1, 'queue-a'));
  source.appended();
  const got = await first;
  assert.is(got.done, false);
  assert.is((got.value as { streamId: string }).streamId, 'queue-a');
  stop.abort();
  await events.return?.(undefined);
});

test.run();
