/**
 * `npx tsx bench/throughputCost.ts`: what one event costs
 * projections/job-throughput.js to fold, in KurrentDB's own projection
 * runtime (V1 engine, through `@kurrent/projections-testing`) and in
 * jobtrail's embedded runtime (batches of 500), from empty and after every
 * minute of the last 25 hours and every hour of the last 31 days got counts.
 * KurrentDB's V1 engine serialises a state after every event, so the cost
 * grows with the size of the state an event touches (one hour's partition).
 * Timed: `--events` events (default 5000) spread over the current minute and
 * the next 59, after the states were filled (not timed). Needs glibc >= 2.38 for KurrentDB's runtime:
 * it reruns itself through the one the test runner provisions, as
 * bench/projectionCost.ts does.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeMemoryProjection, type ProjectionEvent } from '../src/projections/index.js';
import { loadKurrentRuntime } from '../test/support/kurrentRuntime.js';
import { projectionSource } from '../test/support/projectionFixtures.js';

const eventsArg = process.argv.indexOf('--events');
const timed = eventsArg > 0 ? Number(process.argv[eventsArg + 1]) : 5000;
const kurrent = await loadKurrentRuntime();
if ('reason' in kurrent && process.env['JOBTRAIL_BENCH_RERUN'] !== '1') {
  const provision = (await import(pathToFileURL(fileURLToPath(new URL('../test/support/provision.js', import.meta.url))).href)) as {
    provisionGlibc: () => { command: string; args: string[]; env: Record<string, string> } | { error: string };
  };
  const glibc = provision.provisionGlibc();
  if ('error' in glibc || glibc.args.length === 0) {
    console.error(`KurrentDB's projection runtime does not load: ${kurrent.reason}`);
    process.exit(1);
  }
  const child = spawn(glibc.command, [...glibc.args, '--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, ...glibc.env, JOBTRAIL_BENCH_RERUN: '1' },
  });
  child.on('exit', (code) => process.exit(code ?? 1));
  await new Promise(() => undefined);
}
if ('reason' in kurrent) throw new Error(kurrent.reason);

const source = projectionSource('job-throughput');
const end = Date.UTC(2026, 2, 1);
let n = 0;
const completed = (ms: number): ProjectionEvent => {
  n += 1;
  return {
    streamId: `job-b${n}`,
    revision: 0,
    type: 'JobCompleted',
    data: { attempt: 1, completedAt: new Date(ms).toISOString(), durationMs: 3 },
    isJson: true,
    position: String(n),
  };
};
/** One event per hour for 31 days, then one per minute for 25 hours: every bucket kept holds counts. */
const fill = (): ProjectionEvent[] => {
  const out: ProjectionEvent[] = [];
  for (let h = 31 * 24; h > 25; h--) out.push(completed(end - h * 3_600_000));
  for (let m = 25 * 60; m > 0; m--) out.push(completed(end - m * 60_000));
  return out;
};
const now = () => Number(process.hrtime.bigint()) / 1000;

for (const full of [false, true]) {
  const before = full ? fill() : [];
  const batch = Array.from({ length: timed }, (_, i) => completed(end + (i % 60) * 60_000 + (i % 7) * 1000));
  // KurrentDB's V1 engine, event by event.
  const theirs = kurrent.createProjection(source, { engineVersion: 1 }).test();
  const toKurrent = (e: ProjectionEvent) => ({
    eventType: e.type,
    streamId: e.streamId,
    sequenceNumber: 0,
    isJson: true,
    data: e.data,
    metadata: {},
  });
  for (const e of before) theirs.feed(toKurrent(e));
  let t = now();
  for (const e of batch) theirs.feed(toKurrent(e));
  const kurrentUs = (now() - t) / timed;
  const size = JSON.stringify(theirs.getState(`h${Math.floor(end / 3_600_000) % 768}`)).length;
  theirs.dispose();
  // The embedded runtime, in batches of 500.
  const ours = makeMemoryProjection({ name: 'job-throughput', source });
  for (let i = 0; i < before.length; i += 500) ours.feed(before.slice(i, i + 500));
  t = now();
  for (let i = 0; i < batch.length; i += 500) ours.feed(batch.slice(i, i + 500));
  const oursUs = (now() - t) / timed;
  console.log(
    `${full ? 'full ' : 'empty'} states (the current hour's: ${size} bytes): KurrentDB V1 ${kurrentUs.toFixed(1)} µs/event (${Math.round(1e6 / kurrentUs)} events/s), embedded ${oursUs.toFixed(1)} µs/event`,
  );
}
