import fc from 'fast-check';

/** One malformed enqueue command: its bytes and what makes it bad. */
export interface BadCommand {
  readonly kind: string;
  readonly body: Buffer;
}

const validShape = (workerName: string) => ({ workerName, payload: { to: 'a@example.com' } });
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/**
 * A corpus of enqueue commands that are each invalid by construction: random
 * bytes, truncated JSON, deep nesting, huge strings, wrong types, prototype
 * pollution keys, invalid dates, unknown workers. `workerName` is the one
 * registered worker (its payload codec wants `{to: string}`).
 */
export const badCommands = (workerName: string, count: number, seed = 42): BadCommand[] => {
  const kinds: fc.Arbitrary<BadCommand>[] = [
    fc
      .uint8Array({ minLength: 1, maxLength: 300 })
      .map((b) => ({ kind: 'random bytes', body: Buffer.concat([Buffer.from([0xff]), Buffer.from(b)]) })),
    fc.integer({ min: 1, max: 40 }).map((n) => ({ kind: 'truncated JSON', body: json(validShape(workerName)).subarray(0, n) })),
    fc.integer({ min: 1000, max: 200_000 }).map((depth) => ({
      kind: 'deep nesting',
      body: Buffer.from('{"workerName":' + '['.repeat(depth) + ']'.repeat(depth) + ',"payload":{}}'),
    })),
    fc
      .integer({ min: 200_000, max: 600_000 })
      .map((n) => ({ kind: 'huge string in the wrong place', body: json({ workerName: 'x'.repeat(n), payload: {} }) })),
    fc
      .oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string()), fc.object())
      .map((v) => ({ kind: 'workerName of the wrong type', body: json({ workerName: v, payload: {} }) })),
    fc
      .oneof(fc.integer(), fc.boolean(), fc.string(), fc.array(fc.integer()))
      .map((v) => ({ kind: 'payload of the wrong type', body: json({ workerName, payload: v }) })),
    fc
      .record({ to: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string())) })
      .map((p) => ({ kind: 'payload field of the wrong type', body: json({ workerName, payload: p }) })),
    fc.constantFrom('__proto__', 'constructor', 'prototype').map((key) => ({
      kind: 'prototype pollution key',
      body: Buffer.from(`{"workerName":${JSON.stringify(workerName)},"payload":{"${key}":{"polluted":true}}}`),
    })),
    fc
      .constantFrom('2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', 'tomorrow', '2026-01-01', '2026-01-01T24:00:00Z', '', '1e999')
      .map((runAt) => ({ kind: 'invalid runAt', body: json({ ...validShape(workerName), runAt }) })),
    fc
      .string({ minLength: 1, maxLength: 30 })
      .filter((s) => s !== workerName)
      .map((name) => ({ kind: 'unknown worker', body: json({ workerName: `unknown-${name}`, payload: {} }) })),
    fc
      .oneof(fc.constant(0), fc.constant(-1), fc.constant(1.5), fc.constant(1e9), fc.string())
      .map((m) => ({ kind: 'invalid maxAttempts', body: json({ ...validShape(workerName), maxAttempts: m }) })),
    fc
      .oneof(fc.constant(''), fc.constant('a b'), fc.constant('x'.repeat(129)), fc.constant('a/b'), fc.integer())
      .map((id) => ({ kind: 'invalid jobId', body: json({ ...validShape(workerName), jobId: id }) })),
    fc.oneof(fc.array(fc.anything()), fc.constant(null), fc.string(), fc.integer()).map((v) => ({ kind: 'not an object', body: json(v) })),
    fc.constant({ kind: 'missing payload', body: json({ workerName }) }),
    fc
      .integer({ min: 1, max: 100 })
      .map((n) => ({ kind: 'over the size limit', body: json({ workerName, payload: { to: 'y'.repeat(1024 * 1024 + n) } }) })),
  ];
  return fc.sample(fc.oneof(...kinds), { numRuns: count, seed });
};

/** Text arguments for the CLI's JSON payload that are not JSON at all, or JSON of the wrong shape for `{reason: string}`. */
export const badPayloadArguments = (count: number, seed = 7): string[] =>
  fc.sample(
    fc.oneof(
      fc.string({ minLength: 1, maxLength: 50 }).filter((s) => {
        try {
          JSON.parse(s);
          return false;
        } catch {
          return true;
        }
      }),
      fc.integer({ min: 1, max: 14 }).map((n) => '{"reason": "x"}'.slice(0, n)),
      fc.integer({ min: 1000, max: 50_000 }).map((d) => '{"reason":' + '['.repeat(d) + ']'.repeat(d) + '}'),
      fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string())).map((v) => JSON.stringify({ reason: v })),
      fc.constantFrom('{"__proto__":{"reason":"x"}}', '{"constructor":{"prototype":{"reason":"x"}}}', '[]', '"text"', '42', 'null'),
    ),
    { numRuns: count, seed },
  );
