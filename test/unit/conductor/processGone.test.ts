import { hostname } from 'node:os';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { holdProcessId, isProcessGone, makeProcessId } from '../../../src/conductor/index.js';

const test = suite('isProcessGone: which recorded processes recovery may declare lost');

test('another engine open in this very process is alive; once closed, it is an earlier life of the pid', () => {
  const self = makeProcessId('self0000');
  const other = makeProcessId('other000');
  const release = holdProcessId(other);
  assert.is(isProcessGone(other, self), false, 'open here: its attempts are running, not lost');
  release();
  assert.is(isProcessGone(other, self), true);
  assert.is(isProcessGone(self, self), false);
});

test('a dead pid on this host is gone; another host cannot be judged; no id is gone', () => {
  const self = makeProcessId('self0000');
  assert.is(isProcessGone(`${hostname()}:2147483646:dead0000`, self), true);
  assert.is(isProcessGone('elsewhere:1:x', self), false);
  assert.is(isProcessGone(undefined, self), true);
});

test.run();
