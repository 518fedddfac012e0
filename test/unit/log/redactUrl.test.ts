import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { redactUrl } from '../../../src/log/index.js';

const test = suite('redactUrl: connection strings shown without their password');

test('a plain URL keeps everything but the password', () => {
  assert.is(redactUrl('amqp://guest:guest@localhost:5672'), 'amqp://guest:***@localhost:5672');
  assert.is(redactUrl('esdb://localhost:2113?tls=false'), 'esdb://localhost:2113?tls=false');
});

test("EventStoreDB's multi-host form, which WHATWG URL refuses, is shown with its hosts and without its password", () => {
  assert.is(
    redactUrl('esdb://admin:changeit@db1:2113,db2:2113,db3:2113?tls=true&nodePreference=leader'),
    'esdb://admin:***@db1:2113,db2:2113,db3:2113?tls=true&nodePreference=leader',
  );
  assert.is(redactUrl('esdb+discover://db1:2113,db2:2113'), 'esdb+discover://db1:2113,db2:2113');
  assert.is(redactUrl('esdb://reader@db1:2113,db2:2113'), 'esdb://reader@db1:2113,db2:2113');
});

test('text that is not a URL is not shown at all (it could be a password pasted in the wrong place)', () => {
  assert.is(redactUrl('hunter2 hunter2'), '<an unparsable URL>');
  assert.is(redactUrl(''), '<an unparsable URL>');
});

test.run();
