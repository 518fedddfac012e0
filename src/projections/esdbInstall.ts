import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BACKWARDS,
  END,
  NotFoundError,
  StreamNotFoundError,
  UnknownError,
  type EventStoreDBClient,
  type ProjectionDetails,
} from '@eventstore/db-client';
import { isTransientEsdbError } from '../eventStore/esdb/esdbEventStore.js';
import { makeProjectionEngine, type ProjectionInfo } from './projectionEngine.js';
import { projectionsDir, readProjectionFiles, type ProjectionFile } from './projectionFiles.js';

/** The EventStoreDB-only projection files: a sub-folder the embedded runtime never reads. */
export const esdbOnlyDir = 'esdb';
/** The system projections jobtrail's projections read from: `fromCategory('job')` reads `$ce-job`, which only `$by_category` writes. */
export const requiredSystemProjections: readonly string[] = ['$by_category'];

/** What `installProjections` did to a projection, and how it was doing afterwards. */
export interface InstalledProjection {
  readonly name: string;
  readonly action: 'created' | 'updated';
  readonly emitEnabled: boolean;
  /** Reset after the update, so that EventStoreDB folds every event again with the new code. */
  readonly reset: boolean;
  /** Its status once installed (`Running`, …), as `projectionHealth` reports it. */
  readonly health?: ProjectionHealth;
}

export interface InstallProjectionsOptions {
  /**
   * Reset projections that existed, so they are rebuilt from the start with
   * the new code (EventStoreDB keeps an updated projection's state and
   * checkpoint otherwise, and would go on from there). Default: false.
   */
  readonly reset?: boolean;
  /** How long to wait for the server and its projection subsystem, and to retry passing errors. Default: 60 s. */
  readonly timeoutMs?: number;
  /** Progress lines for a person (waiting, enabling, installed). Default: dropped. */
  readonly onProgress?: (line: string) => void;
  /** How long to watch the installed projections for a fault before reporting them. Default: 2 s. */
  readonly settleMs?: number;
}

/** Why `installProjections` (or `projectionHealth`) could not do its work; the message says what to do. */
export class ProjectionInstallError extends Error {
  constructor(
    readonly reason: 'unreachable' | 'no-projections' | 'system-projection' | 'faulted',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProjectionInstallError';
  }
}

/** A projection's health as the server reports it (`getProjectionStatus`), for `projections install` and `jobtrail doctor`. */
export interface ProjectionHealth {
  readonly name: string;
  /** False when the server has no projection of that name. */
  readonly exists: boolean;
  /** The server's status text: `Running`, `Stopped`, `Faulted (Enabled)`, `Preparing/…`; `NotFound` when it does not exist. */
  readonly status: string;
  readonly running: boolean;
  readonly faulted: boolean;
  /** Why it faulted (the handler's error), as the server says it. */
  readonly stateReason?: string;
  /** The last position it processed (`$ce-job: 41`); empty before its first event. */
  readonly position?: string;
  /** Events of its source stream it has not processed yet, when the source is one stream (`$ce-<category>`) and the position is known. */
  readonly lag?: number;
}

/** The projection files of a folder (`*.js`, each one a projection) and of its `esdb/` sub-folder, sorted by name. */
export const esdbProjectionFiles = async (dir: string = projectionsDir): Promise<string[]> => {
  const jsIn = async (d: string): Promise<string[]> =>
    (await readdir(d))
      .filter((f) => f.endsWith('.js'))
      .sort()
      .map((f) => join(d, f));
  const esdbDir = join(dir, esdbOnlyDir);
  return [...(await jsIn(dir)), ...(existsSync(esdbDir) ? await jsIn(esdbDir) : [])];
};

/** Compiles a file in the embedded runtime only to read its definition (selector, partitioning, outputState, …). */
export const infoOf = (file: ProjectionFile): ProjectionInfo =>
  makeProjectionEngine({ name: file.name, source: file.source, filename: file.path, emit: () => undefined }).info;

/** Faults worth another attempt while the server or its projection subsystem starts: they pass. */
export const isPassingProjectionError: (error: unknown) => boolean = isTransientEsdbError;

/** gRPC UNIMPLEMENTED: the server runs without the projection subsystem. */
const isUnimplemented = (error: unknown): boolean => error instanceof UnknownError && (error as { code?: unknown }).code === 12;

const noProjections = (cause: unknown): ProjectionInstallError =>
  new ProjectionInstallError(
    'no-projections',
    'the EventStoreDB server does not run its projection subsystem (the Projections gRPC service is UNIMPLEMENTED): ' +
      'start it with RunProjections=All (EVENTSTORE_RUN_PROJECTIONS=All, or --run-projections=All), then run `jobtrail projections install` again',
    { cause },
  );

const describe = (error: unknown): string => (error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error));

/**
 * Runs `call` until it succeeds, retrying passing errors (the server starting,
 * its projection subsystem not started yet: calls then hang until their
 * deadline) with backoff until `deadline` (ms since epoch). Each attempt gets
 * a deadline of at most 5 s.
 */
export const untilReady = async <T>(
  what: string,
  deadline: number,
  call: (attemptDeadlineMs: number) => Promise<T>,
  onProgress: (line: string) => void = () => undefined,
): Promise<T> => {
  for (let attempt = 1; ; attempt++) {
    const left = deadline - Date.now();
    try {
      return await call(Math.max(500, Math.min(5_000, left)));
    } catch (error) {
      if (isUnimplemented(error)) throw noProjections(error);
      if (!isPassingProjectionError(error)) throw error;
      const remaining = deadline - Date.now();
      if (remaining <= 0)
        throw new ProjectionInstallError(
          'unreachable',
          `${what}: EventStoreDB or its projection subsystem was not ready in time (last error: ${describe(error)}); ` +
            'check that the server runs and is reachable at the --store URL (after `docker compose up -d`, wait for it to be healthy: `docker compose up -d --wait`), or raise --timeout',
          { cause: error },
        );
      onProgress(`waiting for EventStoreDB (${what}): ${describe(error)}; ${Math.ceil(remaining / 1000)} s left`);
      await sleep(Math.min(remaining, 250 * 2 ** Math.min(attempt - 1, 3)));
    }
  }
};

/** The revision of a stream's last event (of the link, for a stream of links); undefined when it has none. */
export const lastRevisionOf = async (client: EventStoreDBClient, stream: string): Promise<bigint | undefined> => {
  let last: bigint | undefined;
  try {
    // Read to the end (no early return): a read stream left early is never released, and `client.dispose()` waits for it.
    for await (const e of client.readStream(stream, { direction: BACKWARDS, fromRevision: END, maxCount: 1 }))
      last = e.link?.revision ?? e.event?.revision;
  } catch (error) {
    if (error instanceof StreamNotFoundError) return undefined;
    throw error;
  }
  return last;
};

/** `$ce-job: 41` → ['$ce-job', 41]; other position formats (multi-stream, $all) → undefined. */
export const parseStreamPosition = (position: string): { stream: string; revision: bigint } | undefined => {
  const m = /^(\S+): (-?\d+)$/.exec(position.trim());
  return m ? { stream: m[1] as string, revision: BigInt(m[2] as string) } : undefined;
};

const healthOf = async (client: EventStoreDBClient, d: ProjectionDetails, source: string | undefined): Promise<ProjectionHealth> => {
  const faulted = d.status.startsWith('Faulted');
  const parsed = parseStreamPosition(d.position);
  let lag: number | undefined;
  if (source !== undefined) {
    const last = await lastRevisionOf(client, source).catch(() => undefined);
    if (last !== undefined) {
      if (parsed !== undefined && parsed.stream === source) lag = Math.max(0, Number(last - parsed.revision));
      else if (d.position === '') lag = Number(last) + 1;
    } else lag = 0;
  }
  return {
    name: d.name,
    exists: true,
    status: d.status,
    running: d.status.startsWith('Running'),
    faulted,
    ...(faulted && d.stateReason !== '' ? { stateReason: d.stateReason } : {}),
    ...(d.position !== '' ? { position: d.position } : {}),
    ...(lag !== undefined ? { lag } : {}),
  };
};

/** The streams a projection reads (`$ce-<category>` for a category); none for `fromAll`. */
export const sourceStreamsOf = (info: ProjectionInfo): string[] =>
  info.source.type === 'categories'
    ? info.source.categories.map((c) => `$ce-${c}`)
    : info.source.type === 'streams'
      ? [...info.source.streams]
      : [];

/** The one stream a projection reads, when it reads one: only then does its position tell how far it got. */
export const sourceStreamOf = (info: ProjectionInfo | undefined): string | undefined => {
  const streams = info === undefined ? [] : sourceStreamsOf(info);
  return streams.length === 1 ? streams[0] : undefined;
};

/**
 * The health of jobtrail's projections on an EventStoreDB server (for
 * `jobtrail doctor` and `projections install`): status, the fault's reason,
 * and the lag behind the source stream where it can be told. Default: the
 * projection files of `projections/` (and `projections/esdb/`) and `$by_category`.
 * Throws `ProjectionInstallError` ('no-projections') when the server runs no
 * projection subsystem; a passing error (server down) is thrown as it is.
 */
export const projectionHealth = async (
  client: EventStoreDBClient,
  options: { readonly names?: readonly string[]; readonly dir?: string; readonly deadlineMs?: number } = {},
): Promise<ProjectionHealth[]> => {
  const files = await readProjectionFiles(await esdbProjectionFiles(options.dir ?? projectionsDir));
  const infos = new Map(files.map((f) => [f.name, infoOf(f)] as const));
  const names = options.names ?? [...requiredSystemProjections, ...files.map((f) => f.name)];
  const out: ProjectionHealth[] = [];
  for (const name of names) {
    try {
      const d = await client.getProjectionStatus(name, options.deadlineMs !== undefined ? { deadline: options.deadlineMs } : {});
      if (d === undefined) {
        out.push({ name, exists: false, status: 'NotFound', running: false, faulted: false });
        continue;
      }
      out.push(await healthOf(client, d, sourceStreamOf(infos.get(name))));
    } catch (error) {
      if (isUnimplemented(error)) throw noProjections(error);
      if (error instanceof NotFoundError) out.push({ name, exists: false, status: 'NotFound', running: false, faulted: false });
      else throw error;
    }
  }
  return out;
};

/**
 * Creates the projections of a folder in EventStoreDB (continuous, enabled),
 * or updates their query when they exist (`jobtrail projections install`);
 * the files of its `esdb/` sub-folder are EventStoreDB-only (the embedded
 * runtime never reads them). `emitEnabled` is set only for a projection that
 * calls `emit`/`linkTo`: the result streams `outputState()` writes need no
 * emit permission. A file that does not define a projection is refused before
 * anything is sent.
 *
 * It waits for the server and its projection subsystem (bounded by
 * `timeoutMs`), retries passing errors, enables `$by_category` when it is
 * stopped, and afterwards reads each projection's status: a Faulted one fails
 * the install with its reason.
 */
export const installProjections = async (
  client: EventStoreDBClient,
  dir: string = projectionsDir,
  options: InstallProjectionsOptions = {},
): Promise<InstalledProjection[]> => {
  const progress = options.onProgress ?? (() => undefined);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const files = await readProjectionFiles(await esdbProjectionFiles(dir));
  const planned = files.map((file) => ({ file, info: infoOf(file) }));

  const listed = await untilReady('listing projections', deadline, (ms) => client.listProjections({ deadline: ms }), progress);
  const existing = new Map(listed.map((p) => [p.name, p] as const));

  for (const name of requiredSystemProjections) {
    const system = existing.get(name);
    if (system === undefined)
      throw new ProjectionInstallError(
        'system-projection',
        `the system projection ${name} does not exist on this server, so $ce-job is never written and jobtrail's projections would stay empty; ` +
          'start the server with RunProjections=All (system projections are created then)',
      );
    if (!system.status.startsWith('Running')) {
      progress(`enabling ${name} (it was ${system.status}): jobtrail's projections read $ce-job, which only ${name} writes`);
      try {
        await untilReady(`enabling ${name}`, deadline, (ms) => client.enableProjection(name, { deadline: ms }), progress);
      } catch (error) {
        if (error instanceof ProjectionInstallError) throw error;
        throw new ProjectionInstallError(
          'system-projection',
          `could not enable ${name} (${describe(error)}); enable it yourself (the web UI's Projections page, or ` +
            `\`curl -X POST http://<server>:2113/projection/${name}/command/enable\` with an admin's credentials), or start the server with ` +
            'EVENTSTORE_START_STANDARD_PROJECTIONS=true',
          { cause: error },
        );
      }
    }
  }

  const installed: InstalledProjection[] = [];
  for (const { file, info } of planned) {
    const emitEnabled = info.emits;
    if (existing.has(file.name)) {
      await untilReady(`updating ${file.name}`, deadline, (ms) =>
        client.updateProjection(file.name, file.source, { emitEnabled, deadline: ms }),
      progress);
      if (options.reset === true) await untilReady(`resetting ${file.name}`, deadline, (ms) => client.resetProjection(file.name, { deadline: ms }), progress);
      installed.push({ name: file.name, action: 'updated', emitEnabled, reset: options.reset === true });
    } else {
      try {
        await untilReady(`creating ${file.name}`, deadline, (ms) => client.createProjection(file.name, file.source, { emitEnabled, deadline: ms }), progress);
        installed.push({ name: file.name, action: 'created', emitEnabled, reset: false });
      } catch (error) {
        // A create whose answer was lost (retried after a deadline) finds the projection there: update it instead.
        if (!(error instanceof UnknownError)) throw error;
        const there = await client.getProjectionStatus(file.name, { deadline: 5_000 }).catch(() => undefined);
        if (there === undefined) throw error;
        await client.updateProjection(file.name, file.source, { emitEnabled, deadline: 5_000 });
        installed.push({ name: file.name, action: 'updated', emitEnabled, reset: false });
      }
    }
    progress(`${installed[installed.length - 1]?.action} ${file.name}`);
  }

  // A projection faults on its first events (or at once, for a definition the server refuses): watch them briefly.
  const names = [...requiredSystemProjections, ...installed.map((p) => p.name)];
  const settleUntil = Date.now() + (options.settleMs ?? 2_000);
  let health: ProjectionHealth[];
  for (;;) {
    health = await untilReady('reading projection statuses', Math.max(deadline, Date.now() + 10_000), (ms) =>
      projectionHealth(client, { names, dir, deadlineMs: ms }),
    progress);
    if (health.some((h) => h.faulted) || Date.now() >= settleUntil) break;
    await sleep(250);
  }
  const faulted = health.filter((h) => h.faulted);
  const byName = new Map(health.map((h) => [h.name, h] as const));
  const result = installed.map((p) => {
    const h = byName.get(p.name);
    return h !== undefined ? { ...p, health: h } : p;
  });
  if (faulted.length > 0)
    throw new ProjectionInstallError(
      'faulted',
      faulted.map((h) => `projection ${h.name} is ${h.status}: ${h.stateReason ?? 'no reason given'}`).join('; ') +
        '; fix the projection (or the event it names), then run `jobtrail projections install --reset`',
    );
  return result;
};
