// The one-line messages for connection failures the e2e tests cannot make for real here (a deadline, a host
// that does not resolve, a timeout), from the texts the client libraries give (issue 23).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { explainConnectionError } from '../../../src/cli/lib/explainError.js';

const test = suite('explainConnectionError');

test('EventStoreDB: a deadline says it did not answer in time, and what to check', () => {
  const error = new Error('4 DEADLINE_EXCEEDED: Deadline exceeded after 10.001s');
  const m = explainConnectionError(error, { store: 'esdb://db.internal:2113?tls=false' });
  assert.match(m ?? '', 'EventStoreDB at esdb://db.internal:2113?tls=false did not answer in time (DEADLINE_EXCEEDED)');
  assert.match(m ?? '', 'the URL has tls=false');
});

test('EventStoreDB: a cause chain is read too (the store adapter wraps the client error)', () => {
  const cause = new Error('14 UNAVAILABLE: No connection established. Last error: Error: getaddrinfo ENOTFOUND db.nowhere');
  const m = explainConnectionError(new Error('EventStoreDB: reading: failed', { cause }), { store: 'esdb://db.nowhere:2113' });
  assert.match(m ?? '', 'its host name does not resolve');
});

test('RabbitMQ: a host that does not resolve, and a timeout', () => {
  assert.match(
    explainConnectionError(new Error('cannot connect to amqp://u:***@mq.nowhere:5672/x: getaddrinfo ENOTFOUND mq.nowhere')) ?? '',
    'the host of the broker URL amqp://u:***@mq.nowhere:5672/x does not resolve',
  );
  assert.match(
    explainConnectionError(new Error('cannot connect to amqp://u:***@10.0.0.9:5672: connect ETIMEDOUT 10.0.0.9:5672')) ?? '',
    'RabbitMQ at 10.0.0.9:5672 (amqp://u:***@10.0.0.9:5672) is unreachable: the connection timed out',
  );
});

test('an SQLite error by its code: a full disk; and errors it does not know are left alone', () => {
  const full = Object.assign(new Error('database or disk is full'), { name: 'SqliteError', code: 'SQLITE_FULL' });
  assert.match(
    explainConnectionError(full, { store: 'sqlite:/data/events.db' }) ?? '',
    'the disk of the store sqlite:/data/events.db is full',
  );
  assert.is(explainConnectionError(new TypeError('x is not a function')), undefined);
  assert.is(explainConnectionError(new Error('unknown worker "x"')), undefined);
});

test.run();
