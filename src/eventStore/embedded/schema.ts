import type Database from 'better-sqlite3';
import type { RecordedEvent } from '../eventStore.js';

/**
 * The store's tables, created if missing; those whose names start with `es_`
 * belong to the store. Stream names are interned to integer keys: the event
 * rows and their index are keyed by (stream_key, revision) and by the global
 * position, so a producer's random stream names touch only the small streams
 * index.
 */
export const schema = `
CREATE TABLE IF NOT EXISTS es_streams (
  stream_key INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  revision INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS es_events (
  position INTEGER PRIMARY KEY,
  stream_key INTEGER NOT NULL,
  revision INTEGER NOT NULL,
  event_id BLOB NOT NULL,
  type TEXT NOT NULL,
  data ANY NOT NULL,
  metadata TEXT,
  is_json INTEGER NOT NULL,
  created INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS es_events_by_stream ON es_events (stream_key, revision);
CREATE INDEX IF NOT EXISTS es_events_by_id ON es_events (stream_key, event_id);
`;

/** A stream's key and its last revision. */
export interface StreamRow {
  readonly stream_key: number;
  readonly revision: number;
}

/** An event as the reads select it, with its stream's name. */
export interface EventRow {
  readonly position: number;
  readonly name: string;
  readonly revision: number;
  readonly event_id: Buffer;
  readonly type: string;
  readonly data: string | Buffer;
  readonly metadata: string | null;
  readonly is_json: number;
  readonly created: number;
}

/** The prepared statements of the store, on its connection. */
export interface Statements {
  readonly selectStream: Database.Statement<[string], StreamRow>;
  readonly insertStream: Database.Statement<[string, number]>;
  readonly insertNewStream: Database.Statement<[string, number]>;
  readonly updateStream: Database.Statement<[number, number]>;
  readonly insertEvent: Database.Statement<[number, number, Buffer, string, string | Buffer, string | null, number, number]>;
  readonly selectHead: Database.Statement<[], { position: number | null }>;
  readonly eventAt: Database.Statement<[number, number], { event_id: Buffer; position: number }>;
  readonly eventWithId: Database.Statement<[number, Buffer], { revision: number; position: number }>;
  readonly selectStreamEvents: Database.Statement<[string, number, number], EventRow>;
  readonly selectAllUser: Database.Statement<[number, number, number], EventRow>;
  readonly selectAllPrefixed: Database.Statement<[{ after: number; before: number; prefix: string; limit: number }], EventRow>;
  readonly dataVersion: Database.Statement<[], number>;
}

const eventColumns = 'e.position, s.name, e.revision, e.event_id, e.type, e.data, e.metadata, e.is_json, e.created';

/** Prepares the store's statements on `db`, whose tables {@link schema} has created. */
export const prepareStatements = (db: Database.Database): Statements => ({
  selectStream: db.prepare<[string], StreamRow>('SELECT stream_key, revision FROM es_streams WHERE name = ?'),
  insertStream: db.prepare<[string, number]>('INSERT INTO es_streams (name, revision) VALUES (?, ?)'),
  // A stream expected not to exist is inserted without looking first: no change means it exists after all.
  insertNewStream: db.prepare<[string, number]>('INSERT INTO es_streams (name, revision) VALUES (?, ?) ON CONFLICT (name) DO NOTHING'),
  updateStream: db.prepare<[number, number]>('UPDATE es_streams SET revision = ? WHERE stream_key = ?'),
  insertEvent: db.prepare<[number, number, Buffer, string, string | Buffer, string | null, number, number]>(
    'INSERT INTO es_events (stream_key, revision, event_id, type, data, metadata, is_json, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  ),
  selectHead: db.prepare<[], { position: number | null }>('SELECT max(position) AS position FROM es_events'),
  eventAt: db.prepare<[number, number], { event_id: Buffer; position: number }>(
    'SELECT event_id, position FROM es_events WHERE stream_key = ? AND revision = ?',
  ),
  eventWithId: db.prepare<[number, Buffer], { revision: number; position: number }>(
    'SELECT revision, position FROM es_events INDEXED BY es_events_by_id WHERE stream_key = ? AND event_id = ? ORDER BY revision DESC LIMIT 1',
  ),
  selectStreamEvents: db.prepare<[string, number, number], EventRow>(
    `SELECT ${eventColumns} FROM es_streams s JOIN es_events e ON e.stream_key = s.stream_key
     WHERE s.name = ? AND e.revision >= ? ORDER BY e.revision LIMIT ?`,
  ),
  // CROSS JOIN makes SQLite walk the events in position order and look each stream up by key.
  selectAllUser: db.prepare<[number, number, number], EventRow>(
    `SELECT ${eventColumns} FROM es_events e CROSS JOIN es_streams s ON s.stream_key = e.stream_key
     WHERE e.position > ? AND e.position < ? AND substr(s.name, 1, 1) <> '$' ORDER BY e.position LIMIT ?`,
  ),
  selectAllPrefixed: db.prepare<{ after: number; before: number; prefix: string; limit: number }, EventRow>(
    `SELECT ${eventColumns} FROM es_events e CROSS JOIN es_streams s ON s.stream_key = e.stream_key
     WHERE e.position > @after AND e.position < @before AND substr(s.name, 1, length(@prefix)) = @prefix ORDER BY e.position LIMIT @limit`,
  ),
  // It changes when another connection commits.
  dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
});

/** The position before every event. */
export const startPosition = '0';
/** An upper bound of reads above every position (positions have at most 15 digits). */
export const noBound = Number.MAX_SAFE_INTEGER;

/** A position this store gave (an event's rowid, as text), as a number; `undefined` is the start. Throws a `TypeError` for anything else. */
export const decodePosition = (position: string | undefined): number => {
  if (position === undefined) return 0;
  if (typeof position !== 'string' || !/^\d{1,15}$/.test(position)) {
    throw new TypeError(`not a position of the sqlite event store: ${JSON.stringify(position)}; pass back a position this store gave`);
  }
  return Number(position);
};

/** An event id as stored: the UUID's 16 bytes. */
export const uuidBytes = (id: string): Buffer => Buffer.from(id.replaceAll('-', ''), 'hex');
const uuidText = (bytes: Buffer): string => {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

/** A row as a `RecordedEvent` whose data and metadata are given as the stored text only (`SubscribeOptions.asText`). */
const toTextEvent = (row: EventRow): RecordedEvent => ({
  streamId: row.name,
  revision: row.revision,
  position: String(row.position),
  id: uuidText(row.event_id),
  type: row.type,
  data: row.is_json === 1 ? {} : new Uint8Array(row.data as Buffer),
  metadata: {},
  isJson: row.is_json === 1,
  created: new Date(row.created).toISOString(),
  text: { data: row.is_json === 1 ? (row.data as string) : undefined, metadata: row.metadata ?? '{}' },
});

const toRecordedEvent = (row: EventRow): RecordedEvent => ({
  streamId: row.name,
  revision: row.revision,
  position: String(row.position),
  id: uuidText(row.event_id),
  type: row.type,
  data: row.is_json === 1 ? JSON.parse(row.data as string) : new Uint8Array(row.data as Buffer),
  metadata: row.metadata === null ? {} : JSON.parse(row.metadata),
  isJson: row.is_json === 1,
  created: new Date(row.created).toISOString(),
});

/** The events of `stream` from revision `fromRevision`, at most `limit` of them (-1: all). */
export const readStreamEvents = (
  statements: Pick<Statements, 'selectStreamEvents'>,
  stream: string,
  fromRevision: number,
  limit: number,
): RecordedEvent[] => statements.selectStreamEvents.all(stream, fromRevision, limit).map(toRecordedEvent);

/** Events strictly between `after` and `before`, in position order, at most `limit` of them (-1: all). */
export const readPage = (
  statements: Pick<Statements, 'selectAllUser' | 'selectAllPrefixed'>,
  after: number,
  before: number,
  limit: number,
  prefix: string | undefined,
  asText = false,
): readonly RecordedEvent[] =>
  (prefix === undefined || prefix === ''
    ? statements.selectAllUser.all(after, before, limit)
    : statements.selectAllPrefixed.all({ after, before, prefix, limit })
  ).map(asText ? toTextEvent : toRecordedEvent);
