// projections/job-throughput.js through the embedded runtime's engine: it
// counts each event in the minute and hour of its own recorded time (offsets
// honoured, no clock), in one partition per hour in a ring of 768 (32 days),
// each holding one hour, so the read side stays bounded; folding the same
// events again (in any batching) gives the same states. The query side
// (throughputSeries, makeThroughputReader) sums the hours of the last hour,
// day and week.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  makeMemoryProjection,
  makeThroughputReader,
  readThroughputHour,
  throughputPartition,
  ThroughputKinds,
  type ProjectionEvent,
  type ThroughputKind,
} from '../../../src/projections/index.js';
import { jobHistoriesArb } from '../../support/histories.js';
import { chunks, fixtureEvents, projectionPath, projectionSource, readFixture, toProjectionEvents } from '../../support/projectionFixtures.js';
import { isoWithOffset, throughputEvents } from '../../support/throughputEvents.js';

const test = suite('projection job-throughput');
const source = projectionSource('job-throughput');
const throughput = () => makeMemoryProjection({ name: 'job-throughput', source, filename: projectionPath('job-throughput') });

const SLOTS = 768;
const base = Date.UTC(2026, 2, 1, 9, 0);
let position = 0;

/** An event of `kind` recorded at `time` (text, as the event carries it). */
const event = (kind: ThroughputKind | 'started', time: string, n = position): ProjectionEvent => {
  position += 1;
  const stream = `job-t${n}`;
  const [type, data] =
    kind === 'enqueued'
      ? ['JobEnqueued', { jobId: `t${n}`, workerName: 'w', queue: 'default', payload: null, maxAttempts: 3, enqueuedAt: time }]
      : kind === 'completed'
        ? ['JobCompleted', { attempt: 1, completedAt: time, durationMs: 5 }]
        : kind === 'failed'
          ? ['JobErrored', { attempt: 3, erroredAt: time, error: { name: 'Error', message: 'no' } }]
          : kind === 'errored'
            ? ['JobErrored', { attempt: 1, erroredAt: time, error: { name: 'Error', message: 'no' }, retryAt: time }]
            : kind === 'cancelled'
              ? ['JobCancelled', { at: time }]
              : ['JobStarted', { attempt: 1, workerId: 'h:1:r', backgroundJobId: 'm', startedAt: time }];
  return { streamId: stream, revision: 0, type, data, isJson: true, position: String(position) };
};
const iso = (ms: number) => new Date(ms).toISOString();


type Row = number[];
interface Hour {
  h: number;
  n: number[];
  m: Row[];
  stale: number;
}

/** The kind and own time of an event the projection counts; undefined for the others. */
const countedOf = (e: ProjectionEvent): { kind: ThroughputKind; time: string } | undefined => {
  const d = e.data as Record<string, string | undefined>;
  const kind: ThroughputKind | undefined =
    e.type === 'JobEnqueued'
      ? 'enqueued'
      : e.type === 'JobCompleted'
        ? 'completed'
        : e.type === 'JobErrored'
          ? d['retryAt'] === undefined
            ? 'failed'
            : 'errored'
          : e.type === 'JobCancelled'
            ? 'cancelled'
            : undefined;
  const time = e.type === 'JobEnqueued' ? d['enqueuedAt'] : e.type === 'JobCompleted' ? d['completedAt'] : e.type === 'JobErrored' ? d['erroredAt'] : d['at'];
  return kind === undefined || time === undefined ? undefined : { kind, time };
};

/**
 * What the partitions must hold, recounted with Date.parse: per slot, the
 * latest hour any of its events had, counted from every event of that hour;
 * `stale`, the events that came after a later hour of the same slot.
 */
const recount = (events: readonly ProjectionEvent[]): Map<string, Hour> => {
  const out = new Map<string, Hour>();
  const seen = new Map<string, number>();
  const counted = events.flatMap((e) => {
    const c = countedOf(e);
    return c === undefined ? [] : [{ kind: c.kind, minute: Math.floor(Date.parse(c.time) / 60_000) }];
  });
  const stale = new Map<string, number>();
  for (const c of counted) {
    const hour = Math.floor(c.minute / 60);
    const slot = `h${hour % SLOTS}`;
    const max = seen.get(slot) ?? -1;
    if (hour < max) stale.set(slot, (stale.get(slot) ?? 0) + 1);
    seen.set(slot, Math.max(max, hour));
  }
  for (const [slot, h] of seen) out.set(slot, { h, n: [0, 0, 0, 0, 0], m: [], stale: stale.get(slot) ?? 0 });
  for (const c of counted) {
    const hour = Math.floor(c.minute / 60);
    const p = out.get(`h${hour % SLOTS}`) as Hour;
    if (p.h !== hour) continue;
    const col = ThroughputKinds.indexOf(c.kind) + 1;
    (p.n[col - 1] as number) += 1;
    let row = p.m.find((r) => r[0] === c.minute - hour * 60);
    if (row === undefined) {
      row = [c.minute - hour * 60, 0, 0, 0, 0, 0];
      p.m.push(row);
    }
    (row[col] as number) += 1;
  }
  for (const p of out.values()) p.m.sort((a, b) => (a[0] as number) - (b[0] as number));
  return out;
};

const fold = (events: readonly ProjectionEvent[], batch = events.length) => {
  const p = throughput();
  for (const part of chunks(events, [Math.max(1, batch)])) assert.is(p.feed(part), undefined, 'no fault');
  return p;
};
const states = (p: ReturnType<typeof throughput>) => new Map(p.partitions().map((k) => [k, p.state(k) as Hour]));

test('is a partitioned (partitionBy) projection of the job category, without result streams or emit', () => {
  const { info } = throughput().engine;
  assert.equal(info.source, { type: 'categories', categories: ['job'] });
  assert.is(info.partitioning, 'byCustomKey');
  assert.is(info.biState, false);
  assert.is(info.outputState, false);
  assert.is(info.emits, false);
});

test('counts each event in the minute and hour of its own time: per kind, offsets honoured, other events ignored', () => {
  const t = (min: number, sec = 0) => iso(base + min * 60_000 + sec * 1000);
  const p = fold([
    event('enqueued', t(0, 1)),
    event('enqueued', t(0, 59)),
    event('started', t(1)),
    event('completed', t(1, 30)),
    event('errored', t(1, 31)),
    event('failed', t(2)),
    event('cancelled', t(61)),
    // 11:02 at +02:00 is 09:02Z; 08:32 at -00:30 is 09:02Z.
    event('completed', '2026-03-01T11:02:07.123+02:00'),
    event('completed', '2026-03-01T08:32:59-00:30'),
  ]);
  const h0 = base / 3_600_000;
  assert.equal(p.partitions().sort(), [throughputPartition(h0), throughputPartition(h0 + 1)].sort());
  assert.equal(p.state(throughputPartition(h0)), {
    h: h0,
    n: [2, 3, 1, 1, 0],
    m: [
      [0, 2, 0, 0, 0, 0],
      [1, 0, 1, 0, 1, 0],
      [2, 0, 2, 1, 0, 0],
    ],
    stale: 0,
  });
  assert.equal(p.state(throughputPartition(h0 + 1)), { h: h0 + 1, n: [0, 0, 0, 0, 1], m: [[1, 0, 0, 0, 0, 1]], stale: 0 });
});

test('the minute of an ISO time equals Date.parse for any time and offset (1970–2400)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 86_400_000, max: Date.UTC(2400, 0, 1) }), fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }), (ms, offset) => {
      const text = isoWithOffset(ms, offset);
      const minute = Math.floor(Date.parse(text) / 60_000);
      const hour = Math.floor(minute / 60);
      const p = fold([event('completed', text)]);
      assert.equal(p.partitions(), [throughputPartition(hour)], text);
      assert.equal((p.state(throughputPartition(hour)) as Hour).m, [[minute - hour * 60, 0, 1, 0, 0, 0]], text);
    }),
    { numRuns: 300 },
  );
});

test('a time it cannot read is counted in partition `unreadable` alone, and faults nothing', () => {
  const p = fold([event('completed', 'yesterday'), event('failed', '2026-13-01T00:00:00Z'), event('enqueued', iso(base))]);
  assert.equal(p.state('unreadable'), { h: -1, n: [0, 1, 1, 0, 0], m: [], stale: 0 });
  assert.equal(p.partitions().sort(), [throughputPartition(base / 3_600_000), 'unreadable'].sort());
});

test('bounded: 60 days of an event every minute leave 768 partitions of 60 minutes, the newest 32 days', () => {
  const events: ProjectionEvent[] = [];
  for (let m = 0; m < 60 * 1440; m++) events.push(event(ThroughputKinds[m % 5] as ThroughputKind, iso(base + m * 60_000 + 999)));
  const p = fold(events, 500);
  const all = states(p);
  assert.is(all.size, SLOTS);
  const newest = Math.floor((base + (60 * 1440 - 1) * 60_000) / 3_600_000);
  const hours = [...all.values()].map((s) => s.h).sort((a, b) => a - b);
  assert.equal(hours, Array.from({ length: SLOTS }, (_, i) => newest - SLOTS + 1 + i), 'the newest 768 hours');
  const largest = Math.max(...[...all.values()].map((s) => JSON.stringify(s).length));
  assert.ok([...all.values()].every((s) => s.m.length === 60 && s.n.reduce((a, b) => a + b) === 60));
  assert.ok(largest < 1_200, `largest partition state: ${largest} characters`);
});

test('a slot counts its newest hour: an event 32 days on empties it; one 32 days late is stale', () => {
  const h0 = base / 3_600_000;
  const p = fold([
    event('completed', iso(base)),
    event('completed', iso(base + SLOTS * 3_600_000 + 60_000)),
    event('failed', iso(base + 5_000)),
  ]);
  assert.equal(p.state(throughputPartition(h0)), { h: h0 + SLOTS, n: [0, 1, 0, 0, 0], m: [[1, 0, 1, 0, 0, 0]], stale: 1 });
});

test('random events in any order over 40 days: the states equal a recount, and any batching gives the same states', () => {
  const kind = fc.constantFrom(...ThroughputKinds);
  fc.assert(
    fc.property(
      fc.array(fc.record({ kind, ms: fc.integer({ min: base, max: base + 40 * 86_400_000 }) }), { minLength: 1, maxLength: 300 }),
      fc.integer({ min: 1, max: 50 }),
      (raw, batch) => {
        const events = raw.map((e) => event(e.kind, iso(e.ms)));
        const once = states(fold(events));
        assert.equal(once, recount(events));
        assert.equal(states(fold(events, batch)), once, `the same states in batches of ${batch}`);
      },
    ),
    { numRuns: 60 },
  );
});

test('fixtures, the throughput history and random histories: the states equal a recount', () => {
  const check = (events: readonly ProjectionEvent[]) => {
    const all = states(fold(events));
    all.delete('unreadable');
    assert.equal(all, recount(events));
  };
  const fixture = fixtureEvents(readFixture());
  check(fixture);
  // The fixture spans 3 days: nothing evicted, so the hours hold every counted event.
  const sums = [0, 0, 0, 0, 0];
  for (const s of states(fold(fixture)).values()) s.n.forEach((v, i) => (sums[i] = (sums[i] as number) + v));
  const by = (k: ThroughputKind) => fixture.filter((e) => countedOf(e)?.kind === k).length;
  assert.equal(sums, ThroughputKinds.map(by));
  check(throughputEvents().filter((e) => countedOf(e)?.time !== 'not a time'));
  fc.assert(
    fc.property(jobHistoriesArb({ maxJobs: 6 }), ({ events }) => check(toProjectionEvents(events))),
    { numRuns: 40 },
  );
});

test('the reader: the last hour per minute, day per 15 minutes, week per hour, aligned; closed hours cached', async () => {
  const now = base + 10 * 86_400_000 + 37 * 60_000 + 12_000; // …09:37:12Z
  const raw = [
    { kind: 'completed' as const, ms: now - 5_000 }, // this minute
    { kind: 'completed' as const, ms: now - 59 * 60_000 + 1 }, // 59 minutes back: hour, day, week
    { kind: 'failed' as const, ms: now - 61 * 60_000 }, // out of the hour
    { kind: 'errored' as const, ms: now - 23 * 3_600_000 }, // day and week
    { kind: 'cancelled' as const, ms: now - 25 * 3_600_000 }, // week only
    { kind: 'enqueued' as const, ms: now - 6 * 86_400_000 }, // week only
    { kind: 'enqueued' as const, ms: now - 8 * 86_400_000 }, // out of the week
  ];
  const p = fold([...raw.map((e) => event(e.kind, iso(e.ms))), event('cancelled', 'never')]);
  const reads: string[] = [];
  const queries = {
    getState: async (name: string, partition?: string) => {
      assert.is(name, 'job-throughput');
      reads.push(partition ?? '');
      return p.state(partition);
    },
  };
  const reader = makeThroughputReader(queries, { closedHourTtlMs: 60_000 });
  const history = await reader.read(now);
  const { hour, day, week } = history.ranges;
  assert.is(hour.buckets.length, 60);
  assert.is(hour.stepMs, 60_000);
  assert.is(hour.to, iso(Math.floor(now / 60_000) * 60_000 + 60_000));
  assert.is(hour.buckets[59]?.at, iso(Math.floor(now / 60_000) * 60_000));
  assert.is(hour.buckets[59]?.completed, 1);
  assert.is(hour.buckets[0]?.completed, 1);
  assert.equal(hour.totals, { enqueued: 0, completed: 2, failed: 0, errored: 0, cancelled: 0 });
  assert.is(day.buckets.length, 96);
  assert.is(day.buckets[95]?.at, iso(Math.floor(now / 900_000) * 900_000));
  assert.equal(day.totals, { enqueued: 0, completed: 2, failed: 1, errored: 1, cancelled: 0 });
  assert.is(week.buckets.length, 168);
  assert.equal(week.totals, { enqueued: 1, completed: 2, failed: 1, errored: 1, cancelled: 1 });
  assert.equal(history.unreadable, { enqueued: 0, completed: 0, failed: 0, errored: 0, cancelled: 1 });
  assert.is(reads.length, 168 + 1, 'every hour of the week once, and the unreadable partition');
  // 30 s on: only the current and the previous hour are read again.
  reads.length = 0;
  await reader.read(now + 30_000);
  assert.equal(reads.sort(), [throughputPartition(Math.floor(now / 3_600_000) - 1), throughputPartition(Math.floor(now / 3_600_000)), 'unreadable'].sort());
  // A slot holding another hour (32 days earlier) reads as no events.
  assert.is(readThroughputHour(p.state(throughputPartition(Math.floor(now / 3_600_000))), Math.floor(now / 3_600_000) - SLOTS), undefined);
  // No state at all: empty series.
  const empty = await makeThroughputReader({ getState: async () => undefined }).read(now);
  assert.is(empty.ranges.week.buckets.length, 168);
  assert.equal(empty.ranges.week.totals, { enqueued: 0, completed: 0, failed: 0, errored: 0, cancelled: 0 });
});

test.run();
