// The console's pure parts: the URL's state (parse, defaults, round trip), the time filters, the cursor, the
// valid actions per state, the filter matching, and the SQL of a page (keyset, never OFFSET).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { consoleParams, parseConsoleQuery, parseTimeParam, toSearch } from '../../../src/dashboard/console.js';
import { HttpError } from '../../../src/dashboard/http.js';
import { validActions } from '../../../src/dashboard/jobActions.js';
import type { JobView } from '../../../src/job/index.js';
import { decodeSearchCursor, encodeSearchCursor, finishedAt, matchesSearch } from '../../../src/projections/jobSearch.js';
import { countQueries, pageQuery } from '../../../src/projections/sqliteJobSearch.js';

const test = suite('the dashboard console: URL state, time filters, cursors, valid actions, SQL');
const now = Date.parse('2026-05-01T12:00:00.000Z');
const parse = (q: string) => parseConsoleQuery(new URLSearchParams(q), 50, now);
const refused = (q: string): string => {
  try {
    parse(q);
  } catch (error) {
    assert.instance(error, HttpError);
    assert.is((error as HttpError).status, 400);
    return (error as Error).message;
  }
  throw new Error(`${q} was accepted`);
};

const view = (over: Partial<JobView>): JobView =>
  ({
    jobId: 'j1',
    workerName: 'w',
    queue: 'default',
    payload: {},
    maxAttempts: 3,
    status: 'initial',
    attempts: 0,
    attemptBase: 0,
    enqueuedAt: '2026-05-01T10:00:00.000Z',
    updatedAt: '2026-05-01T10:00:00.000Z',
    ...over,
  }) as JobView;

test('status words: the dashboard ones, the CLI ones, the labels; anything else is a 400 listing them', () => {
  assert.is(parse('').status, 'all');
  assert.is(parse('status=failed').status, 'failed');
  assert.is(parse('status=awaiting-retry').status, 'awaiting_retry');
  assert.is(parse('status=awaiting_retry').status, 'awaiting_retry');
  assert.is(parse('status=in-progress').status, 'in_progress');
  assert.is(parse('status=Enqueued').status, 'initial');
  assert.match(refused('status=broken'), 'awaiting-retry');
});

test('the other parameters: id and match, sort, page size, bad values named', () => {
  const q = parse('id=ord-1&match=exact&worker=mail&queue=q1&sort=oldest&limit=20');
  assert.equal(toSearch(q, now), { jobId: 'ord-1', workerName: 'mail', queue: 'q1', oldestFirst: true, limit: 20 });
  assert.equal(toSearch(parse('id=ord-'), now), { jobIdPrefix: 'ord-', limit: 50 });
  assert.match(refused('id=a%20b'), 'job id');
  assert.match(refused('match=fuzzy'), 'prefix or exact');
  assert.match(refused('sort=up'), 'newest or oldest');
  assert.match(refused('limit=0'), '1 to 500');
  assert.match(refused('limit=9999'), '1 to 500');
  assert.match(refused('enqueuedSince=2026-05-02&enqueuedUntil=2026-05-01'), 'must be before');
});

test('time filters: ISO with a zone, without one (UTC), a date, a time ago; else a 400 with the forms', () => {
  assert.is(parseTimeParam('t', '2026-05-01T12:00:00+02:00', now), Date.parse('2026-05-01T10:00:00Z'));
  assert.is(parseTimeParam('t', '2026-05-01T12:00', now), Date.parse('2026-05-01T12:00:00Z'));
  assert.is(parseTimeParam('t', '2026-05-01', now), Date.parse('2026-05-01T00:00:00Z'));
  assert.is(parseTimeParam('t', '2h', now), now - 7_200_000);
  assert.is(parseTimeParam('t', '15m', now), now - 900_000);
  assert.is(parseTimeParam('t', '7d', now), now - 7 * 86_400_000);
  for (const bad of ['yesterday', '2026-13-01', '12:00', '2h ago', '-1h']) {
    let message = '';
    try {
      parseTimeParam('enqueuedSince', bad, now);
    } catch (error) {
      message = (error as Error).message;
    }
    assert.match(message, 'enqueuedSince', bad);
    assert.match(message, '2h', bad);
  }
});

test('the URL round-trips, without defaults; a change drops the cursor', () => {
  const text = 'status=failed&id=a&match=exact&worker=w&queue=q&enqueuedSince=2h&finishedUntil=2026-05-01&sort=oldest&limit=20&cursor=abc';
  const q = parse(text);
  const again = consoleParams(q, 50);
  assert.equal(parse(again.toString()), q);
  assert.is(consoleParams(parse('limit=50&sort=newest&status=all'), 50).toString(), '');
  assert.is(consoleParams(q, 50, { cursor: undefined }).get('cursor'), null);
});

test('a cursor carries its direction and order; one of the other order is refused', () => {
  const c = encodeSearchCursor({ way: 'before', oldestFirst: false, key: [5, 'job-x'] });
  assert.equal(decodeSearchCursor(c, false), { way: 'before', oldestFirst: false, key: [5, 'job-x'] });
  assert.throws(() => decodeSearchCursor(c, true), /cursor/);
  assert.throws(() => decodeSearchCursor('not-a-cursor', false), /cursor/);
});

test('valid actions per state', () => {
  assert.equal(validActions(view({ status: 'initial' })), ['cancel']);
  assert.equal(validActions(view({ status: 'awaiting' })), ['cancel']);
  assert.equal(validActions(view({ status: 'in_progress', attempts: 1 })), ['cancel']);
  assert.equal(
    validActions(
      view({ status: 'in_progress', attempts: 1, cancelRequested: { attempt: 1, at: '2026-05-01T10:00:00.000Z' } } as Partial<JobView>),
    ),
    [],
  );
  assert.equal(validActions(view({ status: 'errored', retryAt: '2026-05-01T13:00:00.000Z' } as Partial<JobView>)), ['cancel']);
  assert.equal(validActions(view({ status: 'errored' })), ['retry', 'purge']);
  assert.equal(validActions(view({ status: 'cancelled' })), ['retry', 'purge']);
  assert.equal(validActions(view({ status: 'completed' })), ['purge']);
});

test('matching: finished time by status; a job not finished never matches a finished range', () => {
  const done = view({ status: 'completed', completedAt: '2026-05-01T11:00:00.000Z' } as Partial<JobView>);
  assert.is(finishedAt(done), '2026-05-01T11:00:00.000Z');
  assert.ok(matchesSearch(done, { finishedSince: Date.parse('2026-05-01T10:30:00Z') }));
  assert.not.ok(matchesSearch(done, { finishedUntil: Date.parse('2026-05-01T10:30:00Z') }));
  // Retried after it completed: not finished now.
  const again = view({ status: 'initial', completedAt: '2026-05-01T11:00:00.000Z' } as Partial<JobView>);
  assert.not.ok(matchesSearch(again, { finishedSince: 0 }));
  const retrying = view({
    status: 'errored',
    erroredAt: '2026-05-01T11:00:00.000Z',
    retryAt: '2026-05-01T12:00:00.000Z',
  } as Partial<JobView>);
  assert.not.ok(matchesSearch(retrying, { finishedSince: 0 }));
  assert.ok(matchesSearch(retrying, { status: 'awaiting_retry' }));
  assert.not.ok(matchesSearch(retrying, { status: 'failed' }));
  assert.ok(matchesSearch(view({ jobId: 'ord-12' } as Partial<JobView>), { jobIdPrefix: 'ord-1' }));
  assert.not.ok(matchesSearch(view({ jobId: 'ord-12' } as Partial<JobView>), { jobIdPrefix: 'ord-2' }));
});

test('the SQL of a page: a keyset on (enqueued_ms, partition) either way, LIMIT n+1, never OFFSET', () => {
  const first = pageQuery({ status: 'failed', jobIdPrefix: 'a_' }, undefined, 20);
  assert.not.match(first.sql, /OFFSET/i);
  assert.match(first.sql, /ORDER BY v\.enqueued_ms DESC, v\.partition DESC/);
  assert.is(first.params['limit'], 21);
  assert.is(first.params['prefixLow'], 'job-a_', 'a prefix is a key range: _ is no wildcard');
  const back = pageQuery({}, { way: 'before', oldestFirst: false, key: [7, 'job-x'] }, 20);
  assert.match(back.sql, /\(v\.enqueued_ms, v\.partition\) > \(@keyMs, @keyPartition\)/);
  assert.match(back.sql, /ASC/);
  const oldest = pageQuery({ oldestFirst: true }, { way: 'after', oldestFirst: true, key: [7, 'job-x'] }, 20);
  assert.match(oldest.sql, /> \(@keyMs, @keyPartition\)[\s\S]*ASC/);
  const counts = countQueries({ workerName: 'w' });
  assert.not.match(counts.byStatus.sql, /JOIN/, 'counting by status reads the indexed columns only');
  assert.match(countQueries({ finishedSince: 0 }).byStatus.sql, /JOIN/);
});

test.run();
