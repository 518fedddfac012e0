import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validate, version } from 'uuid';
import { newJobId } from '../../../src/conductor/newJobId.js';

test('newJobId: UUID v7s, all different, past several refills of the random pool', () => {
  const ids = Array.from({ length: 5000 }, () => newJobId());
  for (const id of ids) {
    assert.ok(validate(id), id);
    assert.is(version(id), 7);
  }
  assert.is(new Set(ids).size, ids.length);
});

test('newJobId: ids made one after the other sort in the order made (one millisecond holds many)', () => {
  const ids = Array.from({ length: 5000 }, () => newJobId());
  const sorted = [...ids].sort();
  assert.equal(sorted, ids);
  // Within one millisecond the order comes from the counter, not the clock: make sure some shared one.
  const millis = new Set(ids.map((id) => id.slice(0, 13)));
  assert.ok(millis.size < ids.length, 'every id fell in its own millisecond; the counter was not exercised');
});

test("newJobId: its time is the clock's", () => {
  const before = Date.now();
  const id = newJobId();
  const after = Date.now();
  const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
  assert.ok(ms >= before && ms <= after + 1, `${ms} not in ${before}..${after}`);
});

test.run();
