import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeChildlessStreams } from '../../../src/conductor/continuations.js';

const ev = (streamId: string, revision: number, type: string, data: unknown = {}) => ({ streamId, revision, type, data });

test('childless streams: a job seen whole from revision 0 to its end, naming no child, is childless at its end', () => {
  const c = makeChildlessStreams(10);
  assert.ok(c.see(ev('job-a', 0, 'JobEnqueued')));
  assert.ok(c.see(ev('job-a', 1, 'JobStarted')));
  assert.ok(c.see(ev('job-a', 2, 'JobCompleted')));
  // Forgotten at its end: a later event (a manual reset) is not vouched for.
  assert.is(c.size, 0);
  assert.not.ok(c.see(ev('job-a', 3, 'JobReset')));
  // A retry scheduled does not end the job; the final error does.
  assert.ok(c.see(ev('job-r', 0, 'JobEnqueued')));
  assert.ok(c.see(ev('job-r', 1, 'JobErrored', { retryAt: '2026-01-01T00:00:00.000Z' })));
  assert.is(c.size, 1);
  assert.ok(c.see(ev('job-r', 2, 'JobErrored', {})));
  assert.is(c.size, 0);
});

test('childless streams: a child named, a gap, a repeat or a stream first seen midway means read the stream', () => {
  const c = makeChildlessStreams(10);
  c.see(ev('job-p', 0, 'JobEnqueued'));
  assert.not.ok(c.see(ev('job-p', 1, 'JobContinuationAdded', { childJobId: 'c' })));
  assert.not.ok(c.see(ev('job-p', 2, 'JobCompleted')));

  c.see(ev('job-g', 0, 'JobEnqueued'));
  assert.not.ok(c.see(ev('job-g', 2, 'JobCompleted')), 'a gap');

  c.see(ev('job-d', 0, 'JobEnqueued'));
  c.see(ev('job-d', 1, 'JobStarted'));
  assert.not.ok(c.see(ev('job-d', 1, 'JobStarted')), 'a repeat');
  assert.not.ok(c.see(ev('job-d', 2, 'JobCompleted')));

  assert.not.ok(c.see(ev('job-m', 4, 'JobCompleted')), 'first seen midway (before the subscription began)');
  assert.is(c.size, 0);
});

test('childless streams: at most `max` followed, the oldest forgotten first (then read, as before)', () => {
  const c = makeChildlessStreams(2);
  c.see(ev('job-1', 0, 'JobEnqueued'));
  c.see(ev('job-2', 0, 'JobEnqueued'));
  c.see(ev('job-3', 0, 'JobEnqueued'));
  assert.is(c.size, 2);
  assert.not.ok(c.see(ev('job-1', 1, 'JobCompleted')));
  assert.ok(c.see(ev('job-2', 1, 'JobCompleted')));
  assert.ok(c.see(ev('job-3', 1, 'JobCompleted')));
});

test.run();
