import { Writable } from 'node:stream';
import pino from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lazyChild, type Logger } from '../../../src/log/index.js';

const test = suite('lazyChild: a child logger made on first use');

const capture = () => {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level: 'debug' }, stream) };
};

test('what it logs carries the bindings, and the bindings are computed once', () => {
  const { lines, logger } = capture();
  let computed = 0;
  const log = lazyChild(logger, () => {
    computed += 1;
    return { jobId: 'j1', attempt: 2 };
  });
  log.warn({ err: 'boom' }, 'first');
  log.error('second');
  log.child({ extra: true }).info('third');
  assert.is(computed, 1);
  assert.equal(
    lines.map((l) => [l['msg'], l['jobId'], l['attempt'], l['err'], l['extra']]),
    [
      ['first', 'j1', 2, 'boom', undefined],
      ['second', 'j1', 2, undefined, undefined],
      ['third', 'j1', 2, undefined, true],
    ],
  );
});

test('nothing is made while nothing is logged', () => {
  let children = 0;
  const parent: Logger = {
    ...pino({ level: 'silent' }),
    child: () => {
      children += 1;
      return pino({ level: 'silent' });
    },
  } as unknown as Logger;
  let computed = 0;
  lazyChild(parent, () => {
    computed += 1;
    return {};
  });
  assert.is(children, 0);
  assert.is(computed, 0);
});

test.run();
