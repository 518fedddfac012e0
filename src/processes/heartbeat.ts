import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import * as E from 'fp-ts/lib/Either.js';
import type { EventStore } from '../eventStore/index.js';
import type { Logger } from '../log/index.js';
import { engineVersion } from '../version.js';
import type { WorkerRegistry } from '../worker/index.js';
import { ProcessEvents, processDirectoryStream, processStreamName } from './record.js';

/** What the heartbeat needs of the engine. */
export interface HeartbeatDeps {
  readonly store: EventStore;
  readonly processId: string;
  readonly log: Logger;
  readonly now: () => Date;
}

/** A process stream keeps at least its last this many events (it is trimmed every this many heartbeats). */
export const processStreamKeepLast = 20;
/** The directory keeps its last this many registrations; a running process registers again every `reRegisterMs`. */
export const directoryKeepLast = 20_000;
const directoryTrimEvery = 500;
export const reRegisterMs = 6 * 3_600_000;

export interface Heartbeat {
  /** Stops beating; records `ProcessStopped` (the process's attempts are over by then). */
  stop(): Promise<void>;
}

/** What a `jobtrail run` process says of itself in each heartbeat (docs/processes.md). */
export const describeProcess = (
  registry: Pick<WorkerRegistry, 'queues' | 'workers'>,
  running: { readonly size: number },
  startedAt: Date = new Date(),
): (() => Record<string, unknown>) => {
  const fixed = {
    host: hostname(),
    pid: process.pid,
    version: engineVersion,
    queues: registry.queues,
    workers: registry.workers.map((w) => ({ name: w.name, queue: w.queue, concurrency: w.concurrency })),
    startedAt: startedAt.toISOString(),
  };
  return () => ({ ...fixed, running: running.size });
};

/**
 * Writes `ProcessHeartbeat` into `process-<processId>` now (so the stream exists before any attempt starts), registers
 * the process in the directory stream (`processes`), then beats every `intervalMs`, idle or not (the Processes page
 * tells "last seen" from it). The stream is kept bounded: every `processStreamKeepLast` beats, what lies before the last
 * `processStreamKeepLast` events is dropped (`trimStream`; EventStoreDB: `$maxCount`), so a process stream holds a few
 * events however long the process runs. A heartbeat carries everything (`describe()`), so a trimmed stream still says
 * who the process is and when it was last seen.
 */
export const startHeartbeat = async (
  deps: HeartbeatDeps,
  intervalMs: number,
  describe: () => Readonly<Record<string, unknown>> = () => ({}),
): Promise<Heartbeat> => {
  const stream = processStreamName(deps.processId);
  const write = async (target: string, type: string, data: Record<string, unknown>) => {
    const r = await deps.store.append(target, [{ id: randomUUID(), type, data, metadata: { origin: deps.processId } }], {
      expectedRevision: 'any',
    })();
    if (E.isLeft(r)) deps.log.warn({ err: r.left.message }, `could not record ${type}`);
    return r;
  };
  const trim = async (target: string, keepLast: number) => {
    if (deps.store.trimStream === undefined) return;
    const r = await deps.store.trimStream(target, keepLast)();
    if (E.isLeft(r)) deps.log.warn({ stream: target, err: r.left.message }, 'could not trim a process stream; trying again later');
  };
  let registeredAt: number | undefined;
  const register = async () => {
    const r = await write(processDirectoryStream, ProcessEvents.registered, { processId: deps.processId, at: deps.now().toISOString() });
    if (E.isLeft(r)) return;
    registeredAt = deps.now().getTime();
    if ((r.right.nextExpectedRevision + 1) % directoryTrimEvery === 0) await trim(processDirectoryStream, directoryKeepLast);
  };
  const beat = async () => {
    const r = await write(stream, ProcessEvents.heartbeat, {
      ...describe(),
      processId: deps.processId,
      at: deps.now().toISOString(),
      intervalMs,
    });
    if (E.isRight(r) && (r.right.nextExpectedRevision + 1) % processStreamKeepLast === 0) await trim(stream, processStreamKeepLast);
    if (E.isRight(r) && (registeredAt === undefined || deps.now().getTime() - registeredAt >= reRegisterMs)) await register();
  };
  await beat();
  let writing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    writing = writing.then(beat);
  }, intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await writing;
      await write(stream, ProcessEvents.stopped, { processId: deps.processId, at: deps.now().toISOString() });
    },
  };
};
