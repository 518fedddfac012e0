// The same events through @kurrent/projections-testing (KurrentDB's own
// projection runtime, "gaffer") and through jobtrail's embedded runtime must
// leave the same states. The package's native library needs glibc >= 2.38
// (it declares Node >= 22 but loads on Node 20). `npm test` runs this file in
// its own process, through a new enough glibc that it provisions (see
// test/support/provision.js), with JOBTRAIL_PARITY_REQUIRED=1: there a
// runtime that does not load fails the test. Run any other way (uvu by hand)
// where it does not load, the test says why and how to run it, and is skipped.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { makeMemoryProjection, type ProjectionEvent } from '../../../src/projections/index.js';
import { jobHistoriesArb } from '../../support/histories.js';
import { fixtureEvents, projectionSource, toProjectionEvents } from '../../support/projectionFixtures.js';
import { loadKurrentRuntime } from '../../support/kurrentRuntime.js';
import { throughputEvents } from '../../support/throughputEvents.js';

const test = suite('projections: parity with @kurrent/projections-testing');

const kurrent = await loadKurrentRuntime();

const toKurrent = (e: ProjectionEvent) => ({
  eventType: e.type,
  streamId: e.streamId,
  sequenceNumber: e.revision,
  isJson: true,
  data: e.data,
  metadata: e.metadata ?? {},
});

if ('reason' in kurrent && process.env['JOBTRAIL_PARITY_REQUIRED'] === '1') {
  console.log(`FAILED: @kurrent/projections-testing did not load although \`npm test\` provided the glibc it needs: ${kurrent.reason}`);
  test('@kurrent/projections-testing loads', () => assert.unreachable(kurrent.reason));
} else if ('reason' in kurrent) {
  console.log(`SKIPPED: @kurrent/projections-testing did not load (${kurrent.reason}); run it with \`npm test -- kurrentParity\`, which provides the glibc >= 2.38 it needs`);
  test.skip('job-view, job-dashboard and job-throughput states equal KurrentDB runtime states (fixtures and random histories)', () => undefined);
} else {
  const { createProjection } = kurrent;
  const compare = (events: readonly ProjectionEvent[], engineVersion: 1 | 2) => {
    const streams = [...new Set(events.map((e) => e.streamId))];
    for (const name of ['job-view', 'job-dashboard', 'job-throughput']) {
      const source = projectionSource(name);
      const ours = makeMemoryProjection({ name, source });
      assert.is(ours.feed(events), undefined, `${name}: no fault in our runtime`);
      const theirs = createProjection(source, { engineVersion }).test();
      try {
        for (const e of events) theirs.feed(toKurrent(e));
        // A bi-state partition may come back as [partitionState, sharedState].
        const partitionState = (v: unknown) => (ours.engine.info.biState && Array.isArray(v) ? v[0] : v) ?? undefined;
        for (const s of streams) assert.equal(ours.state(s), partitionState(theirs.getState(s)), `${name} v${engineVersion}: partition ${s}`);
        if (name === 'job-dashboard') assert.equal(ours.shared(), theirs.getSharedState(), `${name} v${engineVersion}: shared state`);
        // partitionBy: every hour slot (h0…h767) and `unreadable`, folded or not.
        if (name === 'job-throughput')
          for (const p of [...Array.from({ length: 768 }, (_, i) => `h${i}`), 'unreadable'])
            assert.equal(ours.state(p), theirs.getState(p) ?? undefined, `${name} v${engineVersion}: partition ${p}`);
      } finally {
        theirs.dispose();
      }
    }
  };

  test('fixtures: the same states in both runtimes (engine versions 1 and 2)', () => {
    for (const v of [1, 2] as const) compare(fixtureEvents(), v);
  });

  test('job-throughput history (35 days, late, offsets, an unreadable time): the same states in both runtimes', () => {
    for (const v of [1, 2] as const) compare(throughputEvents(), v);
  });

  test('random histories: the same states in both runtimes', () => {
    fc.assert(
      fc.property(jobHistoriesArb({ maxJobs: 5 }), ({ events }) => compare(toProjectionEvents(events), 1)),
      { numRuns: 30 },
    );
  });

  test('random histories with more jobs outstanding than job-dashboard lists: the same states in both runtimes', () => {
    fc.assert(
      fc.property(jobHistoriesArb({ minJobs: 12, maxJobs: 24, maxSteps: 6 }), ({ events }) => compare(toProjectionEvents(events), 1)),
      { numRuns: 10 },
    );
  });
}

test.run();
