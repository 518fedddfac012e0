// Durations and the retention option (docs/retention.md): strict, with clear errors.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRetentionFlag, retentionPolicy } from '../../../src/conductor/index.js';
import { DurationError, formatDurationMs, parseDuration } from '../../../src/config/index.js';

const test = suite('durations and the retention option');

test('durations: a number and a unit, combinable; anything else refused with what is expected', () => {
  assert.is(parseDuration('7d'), 7 * 86_400_000);
  assert.is(parseDuration('12h'), 12 * 3_600_000);
  assert.is(parseDuration('30m'), 1_800_000);
  assert.is(parseDuration('1d12h'), 36 * 3_600_000);
  assert.is(parseDuration('500ms'), 500);
  assert.is(parseDuration('0s'), 0);
  for (const bad of ['7', 'd', '7 days', '-1d', '7x', '', '1.5.5h'])
    assert.throws(
      () => parseDuration(bad, '--older-than'),
      (e: Error) => e instanceof DurationError && /--older-than: .* is not a duration; write a number and a unit/.test(e.message),
      bad,
    );
  assert.is(formatDurationMs(36 * 3_600_000), '1d12h');
});

test('the policy: Hangfire-like defaults, forever per status or for all, bad ages refused', () => {
  assert.equal(retentionPolicy(undefined).ages, { completed: 86_400_000, errored: 7 * 86_400_000, cancelled: 7 * 86_400_000 });
  assert.equal(retentionPolicy({ completed: 'forever' }).ages, { errored: 7 * 86_400_000, cancelled: 7 * 86_400_000 });
  assert.equal(retentionPolicy('forever').ages, {});
  assert.is(retentionPolicy({ completed: '2s' }).intervalMs, 1000, 'a quarter of the shortest age, at least 1 s');
  assert.is(retentionPolicy(undefined).intervalMs, 60_000, 'at most a minute');
  assert.throws(() => retentionPolicy({ errored: '7 days' }), /retention.errored: "7 days" is not a duration/);
  assert.throws(() => retentionPolicy({ completed: -1 }), /retention.completed: -1 is not an age/);
});

test('--retention: status=age pairs, one age for all, or forever', () => {
  assert.equal(parseRetentionFlag('completed=2s,errored=7d'), { completed: '2s', errored: '7d' });
  assert.equal(parseRetentionFlag('12h'), { completed: '12h', errored: '12h', cancelled: '12h' });
  assert.is(parseRetentionFlag('forever'), 'forever');
  assert.equal(parseRetentionFlag('errored=forever'), { errored: 'forever' });
  assert.throws(() => parseRetentionFlag('finished=1d'), /--retention: "finished=1d" is not status=age/);
  assert.throws(() => parseRetentionFlag('completed=soon'), /is not a duration/);
});

test.run();
