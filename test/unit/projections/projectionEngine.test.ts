// The embedded runtime's engine keeps EventStoreDB's semantics for the
// projection language: selectors, categories, partitions, handler return
// values, $init / $any / bi-state, what is not delivered, and faults.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeMemoryProjection, makeProjectionEngine, ProjectionDefinitionError, type ProjectionEvent } from '../../../src/projections/index.js';

const test = suite('projection engine');
let position = 0;
const ev = (streamId: string, type: string, data: unknown = {}, extra: Partial<ProjectionEvent> = {}): ProjectionEvent => ({
  streamId,
  revision: 0,
  type,
  data,
  isJson: true,
  metadata: { $correlationId: 'c1' },
  position: String((position += 1)),
  ...extra,
});
const project = (source: string, executionTimeoutMs?: number) =>
  makeMemoryProjection({ name: 't', source, ...(executionTimeoutMs !== undefined ? { executionTimeoutMs } : {}) });

test('a handler returning undefined keeps the mutated state; a returned value replaces it', () => {
  const p = project(`fromAll().when({
    $init: function () { return { n: 0, log: [] }; },
    Mutate: function (s) { s.n += 1; s.log.push('m'); },
    Replace: function (s) { return { n: s.n * 10, log: s.log.concat('r') }; }
  })`);
  p.feed([ev('a-1', 'Mutate'), ev('a-1', 'Mutate'), ev('a-1', 'Replace'), ev('a-1', 'Mutate')]);
  assert.equal(p.state(), { n: 21, log: ['m', 'm', 'r', 'm'] });
});

test('$init is called without arguments for each new partition; without $init the state starts as {}', () => {
  const p = project(`fromAll().foreachStream().when({
    $init: function () { return { args: arguments.length, n: 0 }; },
    $any: function (s) { s.n += 1; }
  })`);
  p.feed([ev('a-1', 'X'), ev('b-1', 'Y'), ev('a-1', 'Z')]);
  assert.equal(p.state('a-1'), { args: 0, n: 2 });
  assert.equal(p.state('b-1'), { args: 0, n: 1 });
  const bare = project(`fromAll().when({ X: function (s) { s.seen = true; } })`);
  bare.feed([ev('a-1', 'X')]);
  assert.equal(bare.state(), { seen: true });
});

test('$any gets every type without its own handler; typed handlers win; other types are not delivered without $any', () => {
  const p = project(`fromAll().when({
    $init: function () { return { any: [], typed: 0 }; },
    Typed: function (s) { s.typed += 1; },
    $any: function (s, e) { s.any.push(e.eventType); }
  })`);
  p.feed([ev('a-1', 'One'), ev('a-1', 'Typed'), ev('a-1', 'Two')]);
  assert.equal(p.state(), { any: ['One', 'Two'], typed: 1 });
  const typedOnly = project(`fromAll().when({ $init: function () { return { n: 0 }; }, Typed: function (s) { s.n += 1; } })`);
  assert.is(typedOnly.engine.accepts(ev('a-1', 'Other')), false);
  typedOnly.feed([ev('a-1', 'Other'), ev('a-1', 'Typed')]);
  assert.is(typedOnly.handled(), 1);
});

test('the event: body and data (parsed), bodyRaw, metadata, streamId, sequenceNumber, eventType, partition, category', () => {
  const p = project(`fromAll().foreachStream().when({
    $any: function (s, e) {
      return { same: e.body === e.data, x: e.body.x, raw: e.bodyRaw, meta: e.metadata.$correlationId, stream: e.streamId,
               seq: e.sequenceNumber, type: e.eventType, partition: e.partition, category: e.category, isJson: e.isJson,
               isArray: Array.isArray(e.body.list) };
    }
  })`);
  p.feed([ev('order-7-x', 'Placed', { x: 42, list: [1] }, { revision: 3 })]);
  assert.equal(p.state('order-7-x'), {
    same: true, x: 42, raw: '{"x":42,"list":[1]}', meta: 'c1', stream: 'order-7-x', seq: 3, type: 'Placed',
    partition: 'order-7-x', category: 'order', isJson: true, isArray: true,
  });
});

test('not delivered: non-JSON bodies, system streams ($…), links ($>)', () => {
  const p = project(`fromAll().when({ $init: function () { return { types: [] }; }, $any: function (s, e) { s.types.push(e.eventType + '@' + e.streamId); } })`);
  const binary = ev('a-1', 'Binary', new Uint8Array([1, 2, 3]), { isJson: false });
  const system = ev('$stats-1', 'Stat');
  const link = ev('a-2', '$>', '1@a-1');
  for (const e of [binary, system, link]) assert.is(p.engine.accepts(e), false, `${e.type} on ${e.streamId} is not delivered`);
  p.feed([binary, system, link, ev('a-1', 'Json')]);
  assert.equal(p.state(), { types: ['Json@a-1'] });
});

test('fromCategory: the category is the text before the first "-"', () => {
  const p = project(`fromCategory('job').when({ $init: function () { return { s: [] }; }, $any: function (s, e) { s.s.push(e.streamId); } })`);
  const streams = ['job-1', 'job-a-b', 'jobs-1', 'job', 'x-job-1', 'Job-1', 'job-'];
  p.feed(streams.map((s) => ev(s, 'E')));
  assert.equal(p.state(), { s: ['job-1', 'job-a-b', 'job-'] });
  const several = project(`fromCategories(['a', 'b']).when({ $init: function () { return { s: [] }; }, $any: function (s, e) { s.s.push(e.streamId); } })`);
  several.feed(['a-1', 'b-1', 'c-1'].map((s) => ev(s, 'E')));
  assert.equal(several.state(), { s: ['a-1', 'b-1'] });
});

test('fromStream and fromStreams select exactly their streams', () => {
  const one = project(`fromStream('orders-1').when({ $init: function () { return { n: 0 }; }, $any: function (s) { s.n += 1; } })`);
  one.feed(['orders-1', 'orders-10', 'orders-2'].map((s) => ev(s, 'E')));
  assert.equal(one.state(), { n: 1 });
  const many = project(`fromStreams('a-1', 'b-2').when({ $init: function () { return { n: 0 }; }, $any: function (s) { s.n += 1; } })`);
  many.feed(['a-1', 'b-2', 'c-3', 'a-11'].map((s) => ev(s, 'E')));
  assert.equal(many.state(), { n: 2 });
  const list = project(`fromStreams(['a-1', 'b-2']).when({ $init: function () { return { n: 0 }; }, $any: function (s) { s.n += 1; } })`);
  list.feed(['a-1', 'b-2', 'c-3'].map((s) => ev(s, 'E')));
  assert.equal(list.state(), { n: 2 });
});

test('partitionBy: a state per key; a number key becomes text; null/undefined keys are skipped', () => {
  const p = project(`fromAll().partitionBy(function (e) { return e.body.customer; }).when({
    $init: function () { return { total: 0 }; },
    Ordered: function (s, e) { s.total += e.body.amount; }
  })`);
  p.feed([
    ev('o-1', 'Ordered', { customer: 'ann', amount: 5 }),
    ev('o-2', 'Ordered', { customer: 7, amount: 1 }),
    ev('o-3', 'Ordered', { customer: 'ann', amount: 2 }),
    ev('o-4', 'Ordered', { amount: 100 }),
    ev('o-5', 'Ordered', { customer: null, amount: 100 }),
  ]);
  assert.equal(p.partitions().sort(), ['7', 'ann']);
  assert.equal(p.state('ann'), { total: 7 });
  assert.equal(p.state('7'), { total: 1 });
  assert.is(p.handled(), 3);
});

test('bi-state: handlers get and may return [partitionState, sharedState]; $initShared starts the shared one', () => {
  const p = project(`options({ biState: true });
  fromAll().foreachStream().when({
    $init: function () { return { n: 0 }; },
    $initShared: function () { return { total: 0 }; },
    Add: function (s) { s[0].n += 1; s[1].total += 1; },
    Reset: function (s) { return [{ n: -1 }, { total: s[1].total * 100 }]; }
  })`);
  assert.is(p.engine.info.biState, true);
  p.feed([ev('a-1', 'Add'), ev('b-1', 'Add')]);
  p.feed([ev('a-1', 'Add'), ev('b-1', 'Reset')]);
  assert.equal(p.state('a-1'), { n: 2 });
  assert.equal(p.state('b-1'), { n: -1 });
  assert.equal(p.shared(), { total: 300 });
});

test('a state returned as null is stored as null and starts again from $init when loaded (as EventStoreDB loads a null state)', () => {
  const p = project(`fromAll().foreachStream().when({ $init: function () { return { n: 0 }; }, Inc: function (s) { s.n += 1; }, Clear: function () { return null; } })`);
  p.feed([ev('a-1', 'Inc'), ev('a-1', 'Inc'), ev('a-1', 'Clear')]);
  assert.is(p.state('a-1'), undefined);
  assert.ok(p.partitions().includes('a-1'));
  p.feed([ev('a-1', 'Inc')]);
  assert.equal(p.state('a-1'), { n: 1 });
});

test('states are JSON between batches: what JSON cannot hold does not survive a commit', () => {
  const p = project(`fromAll().when({ $init: function () { return {}; }, Set: function (s) { s.when = new Date(0); s.gone = undefined; s.f = function () {}; } })`);
  p.feed([ev('a-1', 'Set')]);
  assert.equal(p.state(), { when: '1970-01-01T00:00:00.000Z' });
});

test('options: unknown ones and wrong types are refused; the known ones are read', () => {
  assert.throws(() => project(`options({ speed: 1 }); fromAll().when({})`), (e: unknown) => e instanceof ProjectionDefinitionError && /Unrecognized option: speed/.test(e.message));
  assert.throws(() => project(`options({ biState: 'yes' }); fromAll().when({})`), (e: unknown) => e instanceof ProjectionDefinitionError && /biState/.test(e.message));
  const p = project(`options({ resultStreamName: 'my-results', $includeLinks: false, reorderEvents: false, processingLag: 0 }); fromAll().when({}).outputState()`);
  assert.is(p.engine.info.resultStreamName, 'my-results');
  assert.is(p.engine.info.outputState, true);
});

test('a source that defines no projection is refused, with the projection name and the reason', () => {
  const fails = (source: string, pattern: RegExp) =>
    assert.throws(() => makeProjectionEngine({ name: 'broken', source, compilationTimeoutMs: 200 }), (e: unknown) => e instanceof ProjectionDefinitionError && e.projection === 'broken' && pattern.test(e.message));
  fails(`fromAll().when({`, /SyntaxError/);
  fails(`var x = 1;`, /selects no events/);
  fails(`fromStream('a-1').foreachStream()`, /foreachStream is not a function/);
  fails(`fromAll(); fromCategory('x')`, /one selector/);
  fails(`while (true) {}`, /timed out|Script execution timed out/i);
});

test('a handler that throws: a fault naming the projection, stream, revision, event type and error; the batch is dropped', () => {
  const p = project(`fromAll().when({ $init: function () { return { n: 0 }; }, Inc: function (s) { s.n += 1; }, Boom: function (s) { s.n = 999; throw new TypeError('no good'); } })`);
  p.feed([ev('a-1', 'Inc')]);
  const fault = p.feed([ev('a-1', 'Inc'), ev('s-9', 'Boom', {}, { revision: 4, position: '77' }), ev('a-1', 'Inc')]);
  assert.ok(fault !== undefined);
  assert.equal(
    { projection: fault?.projection, stream: fault?.stream, revision: fault?.revision, eventType: fault?.eventType, position: fault?.position, name: fault?.error.name, message: fault?.error.message },
    { projection: 't', stream: 's-9', revision: 4, eventType: 'Boom', position: '77', name: 'TypeError', message: 'no good' },
  );
  assert.match(fault?.message ?? '', 'projection "t" faulted at s-9@4 (Boom): TypeError: no good');
  assert.equal(p.state(), { n: 1 }, 'nothing of the faulted batch was kept');
  assert.is(p.feed([ev('a-1', 'Inc')]), fault, 'a faulted projection stays faulted');
});

test('a handler that throws a non-Error is reported too', () => {
  const p = project(`fromAll().when({ X: function () { throw 'just text'; } })`);
  const fault = p.feed([ev('a-1', 'X')]);
  assert.is(fault?.error.message, 'just text');
});

test('a handler that never returns is stopped by the execution timeout and faults', () => {
  const p = project(`fromAll().when({ Spin: function () { for (;;) {} } })`, 100);
  const started = Date.now();
  const fault = p.feed([ev('a-1', 'Other'), ev('loop-1', 'Spin', {}, { revision: 2 })]);
  assert.ok(Date.now() - started < 5000);
  assert.is(fault?.error.name, 'ProjectionTimeout');
  assert.is(fault?.stream, 'loop-1');
  assert.is(fault?.revision, 2);
});

test('emit/linkTo fault (jobtrail projections do not emit); eval and new Function are off, as in EventStoreDB', () => {
  const emitting = project(`fromAll().when({ X: function (s, e) { emit('out-1', 'Y', {}); } })`);
  assert.is(emitting.engine.info.emits, true);
  assert.match(emitting.feed([ev('a-1', 'X')])?.error.message ?? '', /emit\(\) is not supported/);
  const evaluating = project(`fromAll().when({ X: function () { return eval('1 + 1'); } })`);
  assert.match(evaluating.feed([ev('a-1', 'X')])?.error.message ?? '', /Code generation from strings disallowed/);
});

test('log() lines reach the host', () => {
  const lines: string[] = [];
  const engine = makeProjectionEngine({ name: 'l', source: `fromAll().when({ X: function (s, e) { log('saw', e.eventType, { n: 1 }); } })`, log: (l) => lines.push(l) });
  engine.run([ev('a-1', 'X')], { load: () => undefined, loadShared: () => undefined });
  assert.equal(lines, ['saw X {"n":1}']);
});

test('the definition helpers are gone once the projection is defined', () => {
  const p = project(`fromAll().when({ X: function () { return { kinds: [typeof fromAll, typeof when, typeof options, typeof emit] }; } })`);
  p.feed([ev('a-1', 'X')]);
  assert.equal(p.state(), { kinds: ['undefined', 'undefined', 'undefined', 'function'] });
});

test.run();
