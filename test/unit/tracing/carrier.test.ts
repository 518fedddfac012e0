import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import {
  carrierOfContext,
  contextFromCarrier,
  spanIdOf,
  traceCarrierOf,
  traceIdOf,
  traceLogFields,
  validTraceparent,
  validTracestate,
  withActiveTraceHeaders,
} from '../../../src/tracing/index.js';

import { traceLine } from '../../../src/present/format.js';
import { toText } from '../../../src/dashboard/html.js';
import { timelineRow } from '../../../src/dashboard/pages.js';

const test = suite('tracing: the W3C trace context as jobtrail reads and writes it');

const good = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test('a valid traceparent is taken; anything else is ignored, never thrown', () => {
  assert.is(validTraceparent(good), good);
  assert.is(validTraceparent(` ${good} `), good, 'surrounding blanks are trimmed');
  assert.is(
    validTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later-field'),
    '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later-field',
    'a later version may add fields',
  );
  for (const bad of [
    undefined,
    null,
    42,
    true,
    {},
    '',
    'garbage',
    good.toUpperCase(),
    good.replace('4bf92f3577b34da6a3ce929d0e0e4736', '0'.repeat(32)),
    good.replace('00f067aa0ba902b7', '0'.repeat(16)),
    good.replace(/^00/, 'ff'),
    `${good}-extra`,
    good.slice(0, -1),
    'x'.repeat(10_000),
  ])
    assert.is(validTraceparent(bad), undefined, JSON.stringify(bad));
});

test('tracestate is passed on only when it is text that may be', () => {
  assert.is(validTracestate('vendor=abc,other=1'), 'vendor=abc,other=1');
  assert.is(validTracestate(12), undefined);
  assert.is(validTracestate('a'.repeat(600)), undefined);
  assert.is(validTracestate('bad\nline'), undefined);
  assert.is(validTracestate(''), undefined);
});

test('a carrier from headers or metadata: traceparent required, tracestate only with it', () => {
  assert.equal(traceCarrierOf({ traceparent: good, tracestate: 'v=1', other: 'x' }), { traceparent: good, tracestate: 'v=1' });
  assert.equal(traceCarrierOf({ traceparent: good, tracestate: 7 }), { traceparent: good });
  assert.is(traceCarrierOf({ tracestate: 'v=1' }), undefined);
  assert.is(traceCarrierOf(undefined), undefined);
  assert.is(traceIdOf(good), '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.is(spanIdOf(good), '00f067aa0ba902b7');
  assert.equal(traceLogFields({ traceparent: good }), { traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
  assert.equal(traceLogFields({ traceparent: 'nope' }), {});
});

test('without an SDK (none is registered in this process) nothing is extracted or injected, and headers pass unchanged', () => {
  assert.is(contextFromCarrier({ traceparent: good }), undefined);
  assert.is(carrierOfContext(ROOT_CONTEXT), undefined);
  const headers = { 'x-jobtrail-deferrals': 1 };
  assert.is(withActiveTraceHeaders(headers), headers);
  assert.is(withActiveTraceHeaders(undefined), undefined);
});

test('history shows the trace where it begins: JobEnqueued and JobStarted with a traceparent in their metadata', () => {
  const started = { type: 'JobStarted', data: { attempt: 1, workerId: 'w', backgroundJobId: 'm', startedAt: '2026-01-01T00:00:00.000Z' } };
  assert.is(
    traceLine({ event: started as never, metadata: { traceparent: good } }),
    'trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7',
  );
  assert.is(traceLine({ event: started as never, metadata: { traceparent: 'malformed' } }), undefined);
  assert.is(traceLine({ event: { type: 'JobCompleted', data: {} } as never, metadata: { traceparent: good } }), undefined);
});

test("the dashboard's timeline shows the same trace on the event's row, and none where none was recorded", () => {
  const started = { type: 'JobStarted', data: { attempt: 1, workerId: 'w', backgroundJobId: 'm', startedAt: '2026-01-01T00:00:00.000Z' } };
  const row = (metadata: Record<string, unknown>) =>
    toText(timelineRow({ event: started, metadata, revision: 1, position: 1n } as never, undefined));
  assert.match(row({ traceparent: good }), 'data-field="trace">trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7<');
  assert.not.match(row({}), 'data-field="trace"');
  assert.not.match(row({ traceparent: 'malformed' }), 'data-field="trace"');
});

test.run();
