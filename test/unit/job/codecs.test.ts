// The io-ts codecs of src/job: timestamps, job ids, and the seven events.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { PathReporter } from 'io-ts/lib/PathReporter.js';
import {
  IsoDate,
  JobCancelled,
  JobCompleted,
  JobEnqueued,
  JobErrored,
  JobEvent,
  JobId,
  JobProgressed,
  JobReset,
  JobStarted,
  isJobEventType,
  isoDate,
} from '../../../src/job/index.js';

const accepts = (codec: t.Mixed, value: unknown): void =>
  assert.ok(E.isRight(codec.decode(value)), `${codec.name} accepts ${JSON.stringify(value)}`);
const rejects = (codec: t.Mixed, value: unknown): void =>
  assert.ok(E.isLeft(codec.decode(value)), `${codec.name} rejects ${JSON.stringify(value)}`);

/** The decoder's paths, keys joined by dots, without the index of an intersection's member. */
const paths = (result: t.Validation<unknown>): string[] =>
  E.isRight(result)
    ? []
    : result.left.map((e) =>
        e.context
          .filter((c, i) => i > 0 && !/^\d+$/.test(c.key))
          .map((c) => c.key)
          .join('.'),
      );

const dates = suite('IsoDate');

dates('accepts UTC with Z, with or without a fraction, and with offsets', () => {
  for (const s of [
    '2026-11-28T10:59:19.000Z',
    '2026-11-28T10:59:19Z',
    '2026-11-28T10:59:19.123456789Z',
    '2026-11-28T10:59:19+02:00',
    '2026-11-28T10:59:19.5-05:30',
    '2026-11-28T00:00:00+14:00',
    '2024-02-29T23:59:59Z',
    '2026-12-31T23:59:59.999Z',
  ])
    accepts(IsoDate, s);
});

dates('rejects impossible dates, words, and times without a zone', () => {
  for (const s of [
    '2026-13-01T00:00:00Z',
    '2026-00-10T00:00:00Z',
    '2026-01-00T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T23:60:00Z',
    '2026-11-28T10:59:19+25:00',
    'yesterday',
    '',
    '2026-11-28',
    '2026-11-28T10:59:19',
    '2026-11-28T10:59:19.000',
    '2026-11-28 10:59:19Z',
    '2026-11-28T10:59:19z',
    '2026-11-28T10:59:19+0200',
    ' 2026-11-28T10:59:19Z',
    '2026-11-28T10:59:19Z\n',
  ])
    rejects(IsoDate, s);
  for (const v of [0, Date.parse('2026-11-28T10:59:19Z'), new Date(), null, undefined, {}]) rejects(IsoDate, v);
});

dates('remembering the last valid timestamp changes no verdict: each alternates with its neighbours', () => {
  const valid = ['2026-11-28T10:59:19.000Z', '2026-11-28T10:59:19.001Z'];
  const invalid = ['2026-02-30T00:00:00Z', '2026-11-28T10:59:19.000'];
  for (let round = 0; round < 3; round++) {
    for (const [i, s] of valid.entries()) {
      accepts(IsoDate, s);
      accepts(IsoDate, s);
      rejects(IsoDate, invalid[i]);
      rejects(IsoDate, `${s} `);
    }
  }
});

dates('isoDate formats each millisecond as toISOString does, and throws for an invalid date', () => {
  const at = Date.parse('2026-11-28T10:59:19.250Z');
  assert.is(isoDate(new Date(at)), '2026-11-28T10:59:19.250Z');
  assert.is(isoDate(new Date(at)), '2026-11-28T10:59:19.250Z');
  assert.is(isoDate(new Date(at + 1)), '2026-11-28T10:59:19.251Z');
  assert.is(isoDate(new Date(at)), '2026-11-28T10:59:19.250Z');
  assert.throws(
    () => isoDate(new Date(Number.NaN)),
    (e: unknown) => e instanceof RangeError,
  );
  assert.is(isoDate(new Date(-1)), '1969-12-31T23:59:59.999Z');
});

dates.run();

const ids = suite('JobId');

const allowed = 'ABCXYZabcxyz0123456789._:@-';
// `_` is in the class too: `._:@-` is dot, underscore, colon, at, hyphen.

ids('accepts 1 to 128 characters of [A-Za-z0-9._:@-]', () => {
  for (const s of [
    'a',
    '0',
    '-',
    'x'.repeat(128),
    allowed,
    'job-0190b2c4-7f3a-7c1e-9d2b-3f4a5b6c7d8e',
    'tenant:42.import_v2',
    'nightly@2026-12-07T02:00:00.000Z',
  ])
    accepts(JobId, s);
  for (const c of allowed) accepts(JobId, c);
});

ids('rejects empty, 129 characters, spaces, slashes, unicode and other characters', () => {
  for (const s of ['', 'x'.repeat(129), 'a b', ' a', 'a\n', 'a/b', '/', 'a\\b', 'café', 'ａ', 'job-😀', 'a+b', 'a#b', 'a?b', 'a*b'])
    rejects(JobId, s);
  for (const v of [1, null, undefined, ['a']]) rejects(JobId, v);
});

ids.run();

const events = suite('event codecs');

const valid = {
  JobEnqueued: {
    type: 'JobEnqueued',
    data: {
      jobId: 'job-1',
      workerName: 'send-email',
      queue: 'default',
      payload: { to: 'a@b.c' },
      maxAttempts: 10,
      enqueuedAt: '2026-11-28T10:59:19.000Z',
    },
  },
  JobStarted: {
    type: 'JobStarted',
    data: { attempt: 1, workerId: 'host:1:abc', backgroundJobId: 'msg-1', startedAt: '2026-11-28T10:59:19.000Z' },
  },
  JobProgressed: { type: 'JobProgressed', data: { attempt: 1, at: '2026-11-28T10:59:19.000Z' } },
  JobCompleted: {
    type: 'JobCompleted',
    data: { attempt: 1, completedAt: '2026-11-28T10:59:19.000Z', durationMs: 0 },
  },
  JobErrored: {
    type: 'JobErrored',
    data: { attempt: 1, erroredAt: '2026-11-28T10:59:19.000Z', error: { name: 'Error', message: 'boom' } },
  },
  JobReset: { type: 'JobReset', data: { at: '2026-11-28T10:59:19.000Z', reason: 'retry' } },
  JobCancelled: { type: 'JobCancelled', data: { at: '2026-11-28T10:59:19.000Z' } },
} as const;
type EventName = keyof typeof valid;

const codecs: Record<EventName, t.Mixed> = {
  JobEnqueued,
  JobStarted,
  JobProgressed,
  JobCompleted,
  JobErrored,
  JobReset,
  JobCancelled,
};

/** Every required field of each event, as a path below the event. */
const required: Record<EventName, readonly string[]> = {
  JobEnqueued: ['type', 'data', 'data.jobId', 'data.workerName', 'data.queue', 'data.maxAttempts', 'data.enqueuedAt'],
  JobStarted: ['type', 'data', 'data.attempt', 'data.workerId', 'data.backgroundJobId', 'data.startedAt'],
  JobProgressed: ['type', 'data', 'data.attempt', 'data.at'],
  JobCompleted: ['type', 'data', 'data.attempt', 'data.completedAt', 'data.durationMs'],
  JobErrored: ['type', 'data', 'data.attempt', 'data.erroredAt', 'data.error', 'data.error.name', 'data.error.message'],
  JobReset: ['type', 'data', 'data.at', 'data.reason'],
  JobCancelled: ['type', 'data', 'data.at'],
};

const without = (value: unknown, path: string): unknown => {
  const copy = structuredClone(value) as Record<string, unknown>;
  const keys = path.split('.');
  let node = copy;
  for (const k of keys.slice(0, -1)) node = node[k] as Record<string, unknown>;
  delete node[keys[keys.length - 1] as string];
  return copy;
};

events('the minimal valid events decode, alone and through JobEvent', () => {
  for (const name of Object.keys(valid) as EventName[]) {
    accepts(codecs[name], valid[name]);
    assert.equal(JobEvent.decode(valid[name]), E.right(valid[name]));
    assert.ok(isJobEventType(name));
  }
  assert.not.ok(isJobEventType('JobDeleted'));
  assert.not.ok(isJobEventType('toString'));
});

for (const name of Object.keys(valid) as EventName[]) {
  events(`${name}: a missing required field is reported at its path`, () => {
    for (const path of required[name]) {
      const result = codecs[name].decode(without(valid[name], path));
      assert.ok(E.isLeft(result), `${name} without ${path} is rejected`);
      assert.ok(paths(result).includes(path), `${name} without ${path}: paths ${JSON.stringify(paths(result))}`);
      const report = PathReporter.report(result).join('\n');
      const field = path.split('.').pop() as string;
      assert.match(report, new RegExp(`Invalid value undefined supplied to : ${name}/.*\\b${field}: `), report);
      // through the union too: the member of the same type names the same path
      const viaUnion = JobEvent.decode(without(valid[name], path));
      assert.ok(E.isLeft(viaUnion));
      const unionPaths = E.isLeft(viaUnion)
        ? viaUnion.left.filter((e) => e.context[1]?.type.name === name).map((e) => paths(E.left([{ ...e, context: e.context.slice(1) }])))
        : [];
      if (path !== 'type') assert.ok(unionPaths.flat().includes(path), `JobEvent without ${name}.${path}`);
    }
  });
}

events('wrong values are reported at their paths', () => {
  const cases: Array<[EventName, string, unknown]> = [
    ['JobStarted', 'data.attempt', 0],
    ['JobStarted', 'data.attempt', 1.5],
    ['JobStarted', 'data.startedAt', 'yesterday'],
    ['JobEnqueued', 'data.jobId', 'a/b'],
    ['JobEnqueued', 'data.maxAttempts', 0],
    ['JobProgressed', 'data.percent', 101],
    ['JobProgressed', 'data.percent', -1],
    ['JobCompleted', 'data.durationMs', -1],
    ['JobErrored', 'data.retryAt', '2026-02-30T00:00:00Z'],
    ['JobReset', 'data.reason', 'because'],
    ['JobCancelled', 'data.at', '2026-11-28T10:59:19'],
  ];
  for (const [name, path, value] of cases) {
    const broken = structuredClone(valid[name]) as { data: Record<string, unknown> };
    broken.data[path.split('.')[1] as string] = value;
    const result = codecs[name].decode(broken);
    assert.equal(paths(result), [path], `${name} with ${path} = ${JSON.stringify(value)}`);
  }
  const report = PathReporter.report(
    JobStarted.decode({ ...valid.JobStarted, data: { ...valid.JobStarted.data, startedAt: 'yesterday' } }),
  );
  assert.equal(report, [
    'Invalid value "yesterday" supplied to : JobStarted/data: { attempt: PositiveInt, workerId: string, backgroundJobId: string, startedAt: IsoDate }/startedAt: IsoDate',
  ]);
});

events('a type literal names its own codec: a JobStarted body under another type is rejected', () => {
  rejects(JobCompleted, { ...valid.JobStarted, type: 'JobCompleted' });
  rejects(JobEvent, { type: 'JobDeleted', data: {} });
  rejects(JobEvent, null);
});

events('optional fields are kept on the way in and on the way out', () => {
  const full = {
    type: 'JobEnqueued',
    data: { ...valid.JobEnqueued.data, runAt: '2026-12-01T08:00:00Z', priority: 3, enqueuedBy: 'api' },
  };
  assert.equal(JobEvent.decode(full), E.right(full));
  assert.equal(JobEvent.encode(full as JobEvent), full);
  const errored = {
    type: 'JobErrored',
    data: { ...valid.JobErrored.data, durationMs: 5, retryAt: '2026-11-28T11:00:00+01:00', error: { name: 'E', message: 'm', stack: 's' } },
  };
  assert.equal(JobEvent.decode(errored), E.right(errored));
});

events.run();
