import type Database from 'better-sqlite3';
import * as E from 'fp-ts/lib/Either.js';
import { wrongExpectedRevision, type ExpectedRevision, type WrongExpectedRevision } from '../eventStore.js';

// Deleting a stream in the SQLite store (docs/retention.md): its event rows and its row in es_streams go, in one
// transaction; SQLite puts the freed pages on its freelist and the next inserts reuse them, so a file whose jobs
// expire stops growing (it does not shrink: that would take a VACUUM).
//
// Positions are rowids (max + 1 on insert). Deleting the rows that hold the highest position would let the next
// append reuse positions a subscriber has already passed, so the highest position is kept by a marker row in the
// system stream `$deleted` (one row at most, left out of reads of `$all` as every `$…` stream is).

/** The system stream that keeps the highest position when the stream holding it is deleted. */
export const deletedMarkerStream = '$deleted';

export interface DeleteStatements {
  readonly selectStream: Database.Statement<[string], { stream_key: number; revision: number }>;
  readonly selectHead: Database.Statement<[], { position: number | null }>;
  readonly streamOfPosition: Database.Statement<[number], { stream_key: number }>;
  readonly deleteEvents: Database.Statement<[number]>;
  readonly deleteStreamRow: Database.Statement<[number]>;
  readonly upsertMarkerStream: Database.Statement<[string]>;
  readonly insertMarker: Database.Statement<[number, number, Buffer, number]>;
}

export const prepareDeleteStatements = (db: Database.Database): DeleteStatements => ({
  selectStream: db.prepare('SELECT stream_key, revision FROM es_streams WHERE name = ?'),
  selectHead: db.prepare('SELECT max(position) AS position FROM es_events'),
  streamOfPosition: db.prepare('SELECT stream_key FROM es_events WHERE position = ?'),
  deleteEvents: db.prepare('DELETE FROM es_events WHERE stream_key = ?'),
  deleteStreamRow: db.prepare('DELETE FROM es_streams WHERE stream_key = ?'),
  upsertMarkerStream: db.prepare('INSERT INTO es_streams (name, revision) VALUES (?, 0) ON CONFLICT (name) DO UPDATE SET revision = 0'),
  insertMarker: db.prepare(
    `INSERT INTO es_events (position, stream_key, revision, event_id, type, data, metadata, is_json, created)
     VALUES (?, ?, 0, ?, '$positionKept', '{}', NULL, 1, ?)`,
  ),
});

const matches = (expected: ExpectedRevision, actual: number | 'no_stream'): boolean => {
  if (actual === 'no_stream') return false;
  return expected === 'any' || expected === 'stream_exists' || expected === actual;
};

/**
 * Deletes `stream` if it is at `expected` (a stream that does not exist cannot be deleted: `WrongExpectedRevision`
 * with actual `no_stream`, as EventStoreDB answers). Run inside a write transaction.
 */
export const deleteStreamRows = (
  st: DeleteStatements,
  stream: string,
  expected: ExpectedRevision,
  now: number,
): E.Either<WrongExpectedRevision, void> => {
  const row = st.selectStream.get(stream);
  const actual = row === undefined ? 'no_stream' : row.revision;
  if (row === undefined || !matches(expected, actual)) return E.left(wrongExpectedRevision(stream, expected, actual));
  const head = st.selectHead.get()?.position ?? null;
  const headIsOurs = head !== null && st.streamOfPosition.get(head)?.stream_key === row.stream_key;
  st.deleteEvents.run(row.stream_key);
  st.deleteStreamRow.run(row.stream_key);
  if (headIsOurs && head !== null) {
    st.upsertMarkerStream.run(deletedMarkerStream);
    const marker = st.selectStream.get(deletedMarkerStream);
    if (marker === undefined) throw new Error('the $deleted stream row is missing right after it was written: a defect');
    st.deleteEvents.run(marker.stream_key);
    st.insertMarker.run(head, marker.stream_key, Buffer.alloc(16), now);
  }
  return E.right(undefined);
};
