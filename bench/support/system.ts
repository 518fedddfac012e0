/** What every system under test offers the scenarios (bench/support/scenarios.ts). */

/** A no-op job: its number and when it was (or was scheduled to be) enqueued, wall-clock ms. */
export interface BenchJob {
  readonly i: number;
  readonly t: number;
}

export interface WorkerHooks {
  /** Called when the job's action starts (the system's own code has run, the user's is about to). */
  readonly onStart: (job: BenchJob) => void;
  /** Called once per job when the system has recorded its completion. */
  readonly onCompleted: () => void;
}

export interface SystemUnderTest {
  /** Enqueues a batch with the system's bulk API (jobtrail: concurrent `enqueue` calls, it has no bulk API). */
  enqueueBatch(jobs: readonly BenchJob[]): Promise<void>;
  /** Enqueues one job and resolves when the system accepted it. */
  enqueueOne(job: BenchJob): Promise<void>;
  /** Starts consuming at the concurrency the system was opened with. */
  startWorker(hooks: WorkerHooks): Promise<void>;
  /** Resolves once every completion reported by `onCompleted` is durably recorded (Graphile reports before its completion is committed). */
  settle?(): Promise<void>;
  /** What the system counted (appends, reads, publishes…), for the profile. */
  counters?(): Record<string, number>;
  /** Stops the worker, closes connections and deletes what this run created (queue, schema, file). */
  close(): Promise<void>;
}

export interface OpenOptions {
  readonly runId: string;
  readonly concurrency: number;
}

/**
 * Issue 24: what an acknowledged job survives. `synced`: it is on disk (fsynced) before the enqueue resolves, so it
 * survives a power loss; `unsynced`: it is not synced at once (in the OS's cache, or only in a server's memory), so a
 * power loss (or, for a server that keeps nothing on disk, a restart of it) may lose it. Systems are compared within a class.
 */
export type DurabilityClass = 'synced' | 'unsynced';

export interface Durability {
  readonly class: DurabilityClass;
  /** How, in a few words, for the table (e.g. "SQLite synchronous=full"). */
  readonly how: string;
}

export const durabilityClasses: Readonly<Record<DurabilityClass, string>> = {
  synced: 'every acknowledged job is fsynced to disk first: it survives a power loss',
  unsynced: 'acknowledged jobs are not fsynced at once: a crash of the worker process loses none, a power loss may',
};

export interface SystemDefinition {
  /** Name in tables and JSON. */
  readonly name: SystemName;
  readonly label: string;
  /** Which service it needs (checked before its runs); `redisAof`: the Redis the bench starts with appendfsync always. */
  readonly needs: readonly ('redis' | 'postgres' | 'rabbitmq' | 'redisAof')[];
  /** What an acknowledged job survives, as configured; `probeDurability` reads it from the server when it depends on it. */
  readonly durability: Durability;
  /** Reads the durability from the running server (Redis's persistence, PostgreSQL's fsync); called once its service is up. */
  probeDurability?(): Promise<Durability>;
  open(options: OpenOptions): Promise<SystemUnderTest>;
  /** Deletes what a run created even if its process was killed. */
  cleanup(runId: string): Promise<void>;
}

export const SystemNames = {
  jobtrailEmbedded: 'jobtrail-embedded',
  jobtrailEmbeddedNormal: 'jobtrail-embedded-normal',
  jobtrailRabbit: 'jobtrail-rabbitmq',
  bullmq: 'bullmq',
  bullmqAof: 'bullmq-aof',
  graphileDefault: 'graphile-default',
  graphileBatched: 'graphile-batched',
  rawRabbit: 'raw-rabbitmq',
} as const;
export type SystemName = (typeof SystemNames)[keyof typeof SystemNames];
