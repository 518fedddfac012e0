// What tracing costs when no OpenTelemetry SDK is registered (docs/tracing.md#cost):
// jobtrail's calls into @opentelemetry/api on the hot path, each timed over
// 500 000 calls, five runs. `npx tsx bench/tracingOverhead.ts`
import * as E from 'fp-ts/lib/Either.js';
import { startAttemptTrace, traceEnqueue } from '../src/conductor/tracing.js';
import { silentLogger } from '../src/log/index.js';
import { withActiveTraceHeaders } from '../src/tracing/index.js';

const job = { jobId: 'j', state: {} as never, revision: 1 };
const view = { jobId: 'j', attempts: 0, queue: 'default' } as never;
const delivery = { headers: {}, messageId: 'm' };
const n = 500_000;
const ok = E.right({ created: true });

const runs = async (name: string, f: () => unknown): Promise<void> => {
  const out: string[] = [];
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await f();
    out.push((Number(process.hrtime.bigint() - t) / n).toFixed(0));
  }
  console.log(`${name}: ${out.join(' ')} ns`);
};

await runs('attempt span, start and end', () =>
  startAttemptTrace(job, view, 'w', 'm', delivery, silentLogger).end({ _tag: 'Completed', job } as never),
);
await runs('trace headers of a dispatch', () => withActiveTraceHeaders(undefined));
await runs('enqueue span around an async no-op', () => traceEnqueue('memory', { jobId: 'j', workerName: 'w', queue: 'q' }, async () => ok));
await runs('the async no-op alone', async () => ok);
