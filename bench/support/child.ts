/**
 * One measured run in a process of its own, so that its peak RSS is the
 * system's alone: `node --import tsx bench/support/child.ts '<spec JSON>'`.
 * Opens the system on fresh names, runs the scenario, closes and deletes what
 * it created, and sends the result to the parent over IPC.
 */
import { Socket } from 'node:net';
import { systemNamed } from '../systems/index.js';
import { makePeakRss } from './memory.js';
import { runScenario, type Scenario, type ScenarioResult } from './scenarios.js';
import type { SystemName } from './system.js';

export interface ChildSpec {
  readonly system: SystemName;
  readonly runId: string;
  readonly scenario: Scenario;
  /** The slowest rate (jobs/s) a phase may run at before it is cut off. */
  readonly slowestRate: number;
}

export type ChildResult =
  | {
      readonly ok: true;
      readonly result: ScenarioResult;
      readonly peakRssMb: number;
      readonly counters?: Record<string, number>;
      /** CPU time (user + system) this process spent in the scenario, per job, µs (not for the latency run). */
      readonly cpuUsPerJob?: number;
    }
  | { readonly ok: false; readonly error: string };

// What-if of the profile (bench/profile.ts), never set by `npm run bench`: TCP_NODELAY on every socket,
// as if jobtrail's RabbitMQ connection asked amqplib for it (amqplib's default is Nagle's algorithm on).
if (process.env['BENCH_WHATIF_NODELAY'] === '1') {
  const setNoDelay = Socket.prototype.setNoDelay;
  Socket.prototype.setNoDelay = function (this: Socket) {
    return setNoDelay.call(this, true);
  };
}

const send = (message: ChildResult): Promise<void> =>
  new Promise((resolve) => {
    if (process.send === undefined) {
      console.log(JSON.stringify(message));
      resolve();
    } else process.send(message, undefined, undefined, () => resolve());
  });

const main = async (): Promise<ChildResult> => {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec;
  const system = systemNamed(spec.system);
  const peak = makePeakRss();
  const sut = await system.open({ runId: spec.runId, concurrency: spec.scenario.concurrency });
  try {
    const cpu = process.cpuUsage();
    const result = await runScenario(sut, spec.scenario, spec.slowestRate);
    const used = process.cpuUsage(cpu);
    const cpuUsPerJob = spec.scenario.kind === 'latency' ? undefined : (used.user + used.system) / spec.scenario.n;
    const counters = sut.counters?.();
    return {
      ok: true,
      result,
      peakRssMb: peak.peakMb(),
      ...(counters ? { counters } : {}),
      ...(cpuUsPerJob !== undefined ? { cpuUsPerJob } : {}),
    };
  } finally {
    peak.stop();
    await sut.close();
  }
};

main()
  .catch((error: unknown): ChildResult => ({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }))
  .then(send)
  // Some clients keep timers or sockets after close; the run is over.
  .then(() => process.exit(0));
