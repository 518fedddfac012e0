// The recorded histories must stay readable: every line decodes with the
// current codecs, every history is a valid sequence of transitions, and the
// fixture keeps covering what it is there to cover.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import { JobEventTypes, replay, type JobEvent } from '../../../src/job/index.js';
import { decodeLine, fixtureHistories, readFixture } from '../../support/projectionFixtures.js';

const test = suite('fixtures: job-histories.jsonl');
const lines = readFixture();

test('every line has the stored-event shape and decodes as a JobEvent', () => {
  assert.ok(lines.length > 30, `a substantial fixture (${lines.length} lines)`);
  lines.forEach((line, i) => {
    assert.type(line.streamId, 'string');
    assert.ok(line.streamId.startsWith('job-'), `line ${i + 1} is on a job stream`);
    assert.type(line.metadata, 'object');
    assert.type(line.metadata.$correlationId, 'string', `line ${i + 1} carries $correlationId`);
    assert.type(line.metadata.$causationId, 'string', `line ${i + 1} carries $causationId`);
    const event = decodeLine(line, i);
    assert.is(event.type, line.type);
    if (event.type === 'JobEnqueued') assert.is(`job-${event.data.jobId}`, line.streamId, 'the stream is job-<jobId>');
  });
});

test('replay accepts every history', () => {
  for (const [stream, events] of fixtureHistories(lines)) {
    const r = replay(events);
    assert.ok(E.isRight(r), `${stream}: ${E.isLeft(r) ? r.left.message : ''}`);
  }
});

test('the fixture covers every event type and the scenarios it is meant to', () => {
  const histories = [...fixtureHistories(lines).values()];
  const types = new Set(lines.map((l) => l.type));
  assert.equal([...types].sort(), Object.keys(JobEventTypes).sort(), 'every event type');
  const has = (what: string, p: (events: readonly JobEvent[]) => boolean) => assert.ok(histories.some(p), what);
  has('several attempts', (es) => es.some((e) => e.type === 'JobStarted' && e.data.attempt >= 3));
  has('failure then success', (es) => {
    const firstError = es.findIndex((e) => e.type === 'JobErrored');
    return firstError >= 0 && es.slice(firstError).some((e) => e.type === 'JobCompleted');
  });
  has('a scheduled retry taken', (es) => es.some((e) => e.type === 'JobReset' && e.data.reason === 'retry'));
  has('a recovered retry', (es) => es.some((e) => e.type === 'JobReset' && e.data.reason === 'recovered'));
  has('a manual retry after failing for good', (es) =>
    es.some((e, i) => e.type === 'JobReset' && e.data.reason === 'manual' && es[i - 1]?.type === 'JobErrored'),
  );
  has('a cancel', (es) => es.some((e) => e.type === 'JobCancelled'));
  has('a running attempt cancelled on request', (es) => es.some((e, i) => e.type === 'JobCancelled' && es[i - 1]?.type === 'JobCancelRequested'));
  has('a manual retry of a cancelled job', (es) =>
    es.some((e, i) => e.type === 'JobReset' && e.data.reason === 'manual' && es[i - 1]?.type === 'JobCancelled'),
  );
  has('progress with percent and message', (es) => es.some((e) => e.type === 'JobProgressed' && e.data.percent !== undefined && e.data.message !== undefined));
  has('a job that could not start', (es) => es[1]?.type === 'JobErrored');
  has('a job still in progress', (es) => es[es.length - 1]?.type === 'JobProgressed');
  has('interrupted attempts (a deploy, a lost process) retried beyond maxAttempts, then a success', (es) => {
    const enqueued = es[0];
    const interrupted = es.filter((e) => e.type === 'JobErrored' && e.data.interrupted === true && e.data.retryAt !== undefined).length;
    return enqueued?.type === 'JobEnqueued' && interrupted > 0 && es.some((e) => e.type === 'JobCompleted' && e.data.attempt > enqueued.data.maxAttempts);
  });
  has('a timed-out attempt still running, its action returned during the retry', (es) =>
    es.some((e, i) => e.type === 'JobActionReturned' && es.slice(0, i).some((p) => p.type === 'JobStarted' && p.data.attempt > e.data.attempt)),
  );
  has('a job awaiting its retry', (es) => {
    const last = es[es.length - 1];
    return last?.type === 'JobErrored' && last.data.retryAt !== undefined;
  });
});

test.run();
