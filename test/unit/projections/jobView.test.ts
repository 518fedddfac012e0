// projections/job-view.js through the embedded runtime's engine: for every
// job, the projected state equals `fold(events)` of src/job/state.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { fold, jobStreamName } from '../../../src/job/index.js';
import { makeMemoryProjection } from '../../../src/projections/index.js';
import { jobHistoriesArb } from '../../support/histories.js';
import { asJson, chunks, fixtureEvents, fixtureHistories, projectionPath, projectionSource, toProjectionEvents } from '../../support/projectionFixtures.js';

const test = suite('projection job-view');
const source = projectionSource('job-view');
const jobView = () => makeMemoryProjection({ name: 'job-view', source, filename: projectionPath('job-view') });

test('is what EventStoreDB needs: fromCategory(job).foreachStream(), every event type, no outputState (nothing reads result streams), no emit', () => {
  const { info } = jobView().engine;
  assert.equal(info.source, { type: 'categories', categories: ['job'] });
  assert.is(info.partitioning, 'byStream');
  assert.equal([...info.events].sort(), ['JobActionReturned', 'JobCancelRequested', 'JobCancelled', 'JobCompleted', 'JobContinuationAdded', 'JobEnqueued', 'JobErrored', 'JobProgressed', 'JobPurged', 'JobReleased', 'JobReset', 'JobStarted']);
  assert.is(info.outputState, false);
  assert.is(info.biState, false);
  assert.is(info.emits, false);
});

test('is deterministic: no clock, no randomness, no modules', () => {
  for (const name of ['job-view', 'job-dashboard']) {
    const text = projectionSource(name);
    assert.not.match(text, /Date\.now|new Date|Math\.random|require\(|import |performance\./, `${name} uses no clock, randomness or modules`);
  }
});

test('fixtures: every job state equals fold(events)', () => {
  const p = jobView();
  assert.is(p.feed(fixtureEvents()), undefined, 'no fault');
  const histories = fixtureHistories();
  assert.equal(p.partitions().sort(), [...histories.keys()].sort(), 'one partition per job stream');
  for (const [stream, events] of histories) assert.equal(p.state(stream), asJson(fold(events)), stream);
});

test('random valid histories, interleaved and fed in random batches: state == fold(events) for every job', () => {
  fc.assert(
    fc.property(jobHistoriesArb({ maxJobs: 6 }), fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }), ({ histories, events }, sizes) => {
      const p = jobView();
      for (const batch of chunks(toProjectionEvents(events), sizes)) assert.is(p.feed(batch), undefined, 'no fault');
      for (const h of histories) {
        assert.equal(p.state(h.stream), asJson(fold(h.events)), `${h.stream} equals fold(events)`);
        assert.equal(p.state(h.stream), asJson(h.state), `${h.stream} equals what the write side saw`);
      }
    }),
    { numRuns: 150 },
  );
});

test('an event before the enqueue leaves the job unborn, as fold does', () => {
  const p = jobView();
  const stream = jobStreamName('early');
  p.feed([{ streamId: stream, revision: 0, type: 'JobStarted', data: { attempt: 1, workerId: 'w', backgroundJobId: 'b', startedAt: '2026-01-01T00:00:00.000Z' }, isJson: true }]);
  assert.equal(p.state(stream), { status: 'none' });
  assert.equal(p.state(stream), asJson(fold([])));
});

test.run();
