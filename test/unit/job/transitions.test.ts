import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import { fold, setToInitialState, setToInProgress, type EnqueueInput, type IsoDate, type JobId, initialJobState } from '../../../src/job/index.js';

const t = suite('job transitions');
const at = (s: string) => s as IsoDate;
const enqueue: EnqueueInput = {
  jobId: 'a1' as JobId,
  workerName: 'w',
  queue: 'default',
  payload: {},
  maxAttempts: 3 as EnqueueInput['maxAttempts'],
  enqueuedAt: at('2026-01-01T00:00:00.000Z'),
};

t('enqueue then start', () => {
  const e1 = setToInitialState(initialJobState, enqueue);
  assert.ok(E.isRight(e1));
  const s1 = fold(E.isRight(e1) ? e1.right : []);
  const e2 = setToInProgress(s1, { workerId: 'x', backgroundJobId: 'm', startedAt: at('2026-01-01T00:00:01.000Z') });
  assert.ok(E.isRight(e2));
  if (E.isRight(e2)) assert.is(e2.right[0].data.attempt, 1);
});
t.run();
