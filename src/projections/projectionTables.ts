import type Database from 'better-sqlite3';

/** The SQLite connection of the embedded store (`makeEmbeddedEventStore(...).database`). */
export type SqliteDatabase = Database.Database;

/**
 * The embedded runtime's tables, in the embedded store's SQLite file:
 * - `projection_states`: one row per projection: source hash, status,
 *   definition, checkpoint, the unpartitioned (or bi-state shared) state, and a version
 *   bumped by every committed batch, which readers in other processes poll;
 * - `projection_partitions`: the state of each partition, keyed by
 *   (projection, partition), with the version of the batch that wrote it;
 * - `projection_job_views`: the queryable columns of job-view's states, so
 *   that `listJobViews` filters and pages with an index, not by loading states.
 * The lease (who advances the projections) is the store's `es_leases` row `projections`.
 */
const schema = `
CREATE TABLE IF NOT EXISTS projection_states (
  name TEXT PRIMARY KEY,
  source_hash TEXT NOT NULL,
  info TEXT,
  status TEXT NOT NULL,
  checkpoint TEXT,
  state TEXT,
  fault TEXT,
  version INTEGER NOT NULL,
  events_processed INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS projection_partitions (
  projection TEXT NOT NULL,
  partition TEXT NOT NULL,
  state TEXT,
  version INTEGER NOT NULL,
  PRIMARY KEY (projection, partition)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS projection_partitions_by_version ON projection_partitions (projection, version);
CREATE TABLE IF NOT EXISTS projection_job_views (
  partition TEXT PRIMARY KEY,
  job_id TEXT NOT NULL,
  status TEXT NOT NULL,
  worker_name TEXT NOT NULL,
  queue TEXT NOT NULL,
  enqueued_at TEXT NOT NULL,
  enqueued_ms INTEGER NOT NULL,
  updated_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS projection_job_views_by_time ON projection_job_views (enqueued_ms, partition);
CREATE INDEX IF NOT EXISTS projection_job_views_by_status ON projection_job_views (status, enqueued_ms, partition);
CREATE INDEX IF NOT EXISTS projection_job_views_by_worker ON projection_job_views (worker_name, enqueued_ms, partition);
CREATE INDEX IF NOT EXISTS projection_job_views_by_worker_status ON projection_job_views (worker_name, status, enqueued_ms, partition);
`;

/** The status a projection is in. */
export const ProjectionStatuses = { running: 'running', faulted: 'faulted' } as const;
export type ProjectionStatus = (typeof ProjectionStatuses)[keyof typeof ProjectionStatuses];

export interface ProjectionRow {
  readonly name: string;
  readonly source_hash: string;
  /** JSON of the projection's `ProjectionInfo`. */
  readonly info: string | null;
  readonly status: ProjectionStatus;
  readonly checkpoint: string | null;
  readonly state: string | null;
  readonly fault: string | null;
  readonly version: number;
  readonly events_processed: number;
  readonly updated_at: string;
}

/** The queryable columns of a job view. */
export interface JobViewColumns {
  readonly jobId: string;
  readonly status: string;
  readonly workerName: string;
  readonly queue: string;
  readonly enqueuedAt: string;
  readonly enqueuedMs: number;
  readonly updatedAt: string;
}

/** The columns of a job-view state, or `undefined` when it is not (yet) a job view. */
export const jobViewColumns = (state: unknown): JobViewColumns | undefined => {
  if (state === null || typeof state !== 'object') return undefined;
  const s = state as Record<string, unknown>;
  if (typeof s.status !== 'string' || s.status === 'none') return undefined;
  if (typeof s.jobId !== 'string' || typeof s.enqueuedAt !== 'string') return undefined;
  const enqueuedMs = Date.parse(s.enqueuedAt);
  return {
    jobId: s.jobId,
    status: s.status,
    workerName: typeof s.workerName === 'string' ? s.workerName : '',
    queue: typeof s.queue === 'string' ? s.queue : '',
    enqueuedAt: s.enqueuedAt,
    enqueuedMs: Number.isNaN(enqueuedMs) ? 0 : enqueuedMs,
    updatedAt: typeof s.updatedAt === 'string' ? s.updatedAt : s.enqueuedAt,
  };
};

type Statement<P extends unknown[], R> = Database.Statement<P, R>;

/** Prepared statements over the projection tables. */
export interface ProjectionTables {
  readonly db: SqliteDatabase;
  readonly projection: Statement<[string], ProjectionRow>;
  readonly projections: Statement<[], ProjectionRow>;
  readonly version: Statement<[string], { version: number }>;
  readonly insertProjection: Statement<[string, string, string], unknown>;
  readonly resetProjection: Statement<[string, string, string], unknown>;
  readonly advance: Statement<[string | null, number, string, number, string], unknown>;
  readonly setInfo: Statement<[string, string], unknown>;
  readonly setRootState: Statement<[string | null, string], unknown>;
  readonly setFault: Statement<[string, string, string], unknown>;
  readonly partition: Statement<[string, string], { state: string | null }>;
  readonly upsertPartition: Statement<[string, string, string | null, number], unknown>;
  readonly partitionsSince: Statement<[string, number], { partition: string; state: string | null; version: number }>;
  readonly deletePartitions: Statement<[string], unknown>;
  readonly upsertJobView: Statement<[string, string, string, string, string, string, number, string], unknown>;
  readonly updateJobViewStatus: Statement<[string, string, string, string, string, string, string, number], unknown>;
  readonly deleteJobView: Statement<[string], unknown>;
  readonly deleteJobViews: Statement<[], unknown>;
}

/** Prepared statements over the projection tables; creates them when missing. */
export const makeProjectionTables = (db: SqliteDatabase): ProjectionTables => {
  db.exec(schema);
  const st = {
    projection: db.prepare<[string], ProjectionRow>('SELECT * FROM projection_states WHERE name = ?'),
    projections: db.prepare<[], ProjectionRow>('SELECT * FROM projection_states ORDER BY name'),
    version: db.prepare<[string], { version: number }>('SELECT version FROM projection_states WHERE name = ?'),
    insertProjection: db.prepare<[string, string, string]>(
      `INSERT INTO projection_states (name, source_hash, status, checkpoint, state, fault, version, events_processed, updated_at)
       VALUES (?, ?, 'running', NULL, NULL, NULL, 0, 0, ?)`,
    ),
    resetProjection: db.prepare<[string, string, string]>(
      `UPDATE projection_states SET source_hash = ?, status = 'running', checkpoint = NULL, state = NULL, fault = NULL,
         version = version + 1, events_processed = 0, updated_at = ? WHERE name = ?`,
    ),
    advance: db.prepare<[string | null, number, string, number, string]>(
      `UPDATE projection_states SET checkpoint = ?, events_processed = events_processed + ?, updated_at = ?, version = ?
       WHERE name = ?`,
    ),
    setInfo: db.prepare<[string, string]>('UPDATE projection_states SET info = ? WHERE name = ?'),
    setRootState: db.prepare<[string | null, string]>('UPDATE projection_states SET state = ? WHERE name = ?'),
    setFault: db.prepare<[string, string, string]>(
      `UPDATE projection_states SET status = 'faulted', fault = ?, updated_at = ?, version = version + 1 WHERE name = ?`,
    ),
    partition: db.prepare<[string, string], { state: string | null }>(
      'SELECT state FROM projection_partitions WHERE projection = ? AND partition = ?',
    ),
    upsertPartition: db.prepare<[string, string, string | null, number]>(
      `INSERT INTO projection_partitions (projection, partition, state, version) VALUES (?, ?, ?, ?)
       ON CONFLICT (projection, partition) DO UPDATE SET state = excluded.state, version = excluded.version`,
    ),
    partitionsSince: db.prepare<[string, number], { partition: string; state: string | null; version: number }>(
      'SELECT partition, state, version FROM projection_partitions WHERE projection = ? AND version > ? ORDER BY version, partition',
    ),
    deletePartitions: db.prepare<[string]>('DELETE FROM projection_partitions WHERE projection = ?'),
    upsertJobView: db.prepare<[string, string, string, string, string, string, number, string]>(
      `INSERT INTO projection_job_views (partition, job_id, status, worker_name, queue, enqueued_at, enqueued_ms, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (partition) DO UPDATE SET job_id = excluded.job_id, status = excluded.status, worker_name = excluded.worker_name,
         queue = excluded.queue, enqueued_at = excluded.enqueued_at, enqueued_ms = excluded.enqueued_ms, updated_at = excluded.updated_at`,
    ),
    // Sets only what a job's later events change: an index whose columns are not SET is not written (issue 24:
    // the full upsert rewrote the entries of all four indexes on every status change).
    updateJobViewStatus: db.prepare<[string, string, string, string, string, string, string, number]>(
      `UPDATE projection_job_views SET status = ?, updated_at = ?
       WHERE partition = ? AND job_id = ? AND worker_name = ? AND queue = ? AND enqueued_at = ? AND enqueued_ms = ?`,
    ),
    deleteJobView: db.prepare<[string]>('DELETE FROM projection_job_views WHERE partition = ?'),
    deleteJobViews: db.prepare('DELETE FROM projection_job_views'),
  };
  return { db, ...st };
};

/** Writes the queryable columns of a job-view partition (or removes them when the state is not a job view). */
export const writeJobView = (tables: ProjectionTables, partition: string, stateJson: string | null): void => {
  const columns = jobViewColumns(stateJson === null ? null : JSON.parse(stateJson));
  if (columns === undefined) {
    tables.deleteJobView.run(partition);
    return;
  }
  // The row is there with the same job (the common case: a status change): two columns, two indexes.
  const updated = tables.updateJobViewStatus.run(
    columns.status,
    columns.updatedAt,
    partition,
    columns.jobId,
    columns.workerName,
    columns.queue,
    columns.enqueuedAt,
    columns.enqueuedMs,
  );
  if (updated.changes === 1) return;
  tables.upsertJobView.run(
    partition,
    columns.jobId,
    columns.status,
    columns.workerName,
    columns.queue,
    columns.enqueuedAt,
    columns.enqueuedMs,
    columns.updatedAt,
  );
};

/**
 * Removes what the embedded projections hold for a deleted stream (docs/retention.md): its partition in every
 * projection and its job-view row. Called once the projections have folded the stream's last event (`JobPurged`),
 * so nothing would write them again.
 */
export const makeStreamPartitionsDelete = (db: SqliteDatabase): ((stream: string) => void) => {
  makeProjectionTables(db);
  const partitions = db.prepare<[string]>(
    'DELETE FROM projection_partitions WHERE projection IN (SELECT name FROM projection_states) AND partition = ?',
  );
  const view = db.prepare<[string]>('DELETE FROM projection_job_views WHERE partition = ?');
  return db.transaction((stream: string) => {
    partitions.run(stream);
    view.run(stream);
  });
};
