import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RecordedEvent } from '../../../src/eventStore/index.js';
import {
  applyProcessEvent,
  newProcessRecord,
  ProcessEvents,
  processRecovery,
  processStatus,
  statusText,
} from '../../../src/processes/index.js';

const test = suite('process status from its stream');

let revision = 0;
const event = (type: string, data: Record<string, unknown>): RecordedEvent => ({
  streamId: 'process-h:1:a',
  revision: revision++,
  position: String(revision),
  id: `e${revision}`,
  type,
  data,
  metadata: {},
  isJson: true,
  created: '2026-12-01T10:00:00.000Z',
});
const t0 = Date.parse('2026-12-01T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const beat = (at: number, extra: Record<string, unknown> = {}) =>
  event(ProcessEvents.heartbeat, { at: iso(at), intervalMs: 2_000, host: 'h', pid: 1, version: '0.1.0', running: 2, ...extra });
const options = (now: number) => ({ now, missedHeartbeats: 6 });

test('running while heartbeats come; gone after missedHeartbeats of its own intervals; running again when it beats again', () => {
  const r = newProcessRecord('h:1:a', 5_000);
  applyProcessEvent(r, beat(t0, { queues: ['q'], workers: [{ name: 'w', queue: 'q', concurrency: 3 }], startedAt: iso(t0) }));
  assert.is(r.intervalMs, 2_000, 'the interval it says');
  assert.equal(r.info, {
    host: 'h',
    pid: 1,
    version: '0.1.0',
    queues: ['q'],
    workers: [{ name: 'w', queue: 'q', concurrency: 3 }],
    startedAt: iso(t0),
  });
  assert.is(processStatus(r, options(t0 + 12_000)), 'running', '12 s of silence: exactly 6 × 2 s');
  assert.is(processStatus(r, options(t0 + 12_001)), 'gone');
  assert.is(processRecovery(r), 'pending', 'it ran 2 attempts at its last heartbeat, none recovered yet');
  applyProcessEvent(r, beat(t0 + 20_000));
  assert.is(processStatus(r, options(t0 + 21_000)), 'running');
  assert.is(r.info.queues?.[0], 'q', 'a later heartbeat keeps what an earlier one said');
});

test('gone at once when its pid is gone on this host; stopped when it said so, whatever the time', () => {
  const r = newProcessRecord('h:1:a', 5_000);
  applyProcessEvent(r, beat(t0));
  assert.is(processStatus(r, { ...options(t0 + 1_000), goneHere: true }), 'gone');
  applyProcessEvent(r, event(ProcessEvents.stopped, { at: iso(t0 + 2_000) }));
  assert.is(processStatus(r, options(t0 + 10 * 86_400_000)), 'stopped');
  assert.is(r.running, 0);
  assert.is(r.lastSeenAt, t0 + 2_000);
});

test('a recovery note lists the attempts, is no sign of life, and stands in for heartbeats trimmed away', () => {
  const r = newProcessRecord('h:1:a', 5_000);
  applyProcessEvent(r, beat(t0));
  const note = event(ProcessEvents.recovered, {
    at: iso(t0 + 60_000),
    by: 'sweep-host:2:b',
    jobs: [{ jobId: 'j1', attempt: 1 }, { jobId: 'j2', attempt: 3 }, { bad: true }],
    lastSeenAt: iso(t0),
  });
  applyProcessEvent(r, note);
  applyProcessEvent(r, { ...note, revision: revision++ }); // the same note again (two sweeps): no duplicate
  assert.is(r.lastSeenAt, t0, 'the note is not a sign of life');
  assert.equal(
    r.recovered.map((a) => `${a.jobId}#${a.attempt}`),
    ['j1#1', 'j2#3'],
  );
  assert.is(processRecovery(r), 'recovered');
  // A stream whose heartbeats were trimmed away (EventStoreDB's $maxCount): the note says when and who.
  const trimmed = newProcessRecord('h:1:a', 5_000);
  applyProcessEvent(trimmed, event(ProcessEvents.recovered, { ...(note.data as object), info: { host: 'h', pid: 1 } }));
  assert.is(trimmed.lastSeenAt, t0);
  assert.equal(trimmed.info, { host: 'h', pid: 1 });
  assert.is(processStatus(trimmed, options(t0 + 60_000)), 'gone');
});

test('status text', () => {
  const base = { processId: 'p', heartbeatIntervalMs: 5_000, recovered: [] };
  assert.is(statusText({ ...base, status: 'running' }), 'running');
  assert.is(statusText({ ...base, status: 'gone', recovery: 'pending' }), 'gone (recovery pending)');
  assert.is(
    statusText({ ...base, status: 'gone', recovery: 'recovered', recovered: [{ jobId: 'j', attempt: 1, at: '', by: 'x' }] }),
    'gone (1 attempt recovered)',
  );
  assert.is(statusText({ ...base, status: 'gone', recovery: 'none' }), 'gone');
});

test.run();
