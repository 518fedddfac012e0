import * as E from 'fp-ts/lib/Either.js';
import type { CheckedEvent } from '../checkAppendInput.js';
import { wrongExpectedRevision, type AppendResult, type ExpectedRevision, type WrongExpectedRevision } from '../eventStore.js';
import { startPosition, uuidBytes, type Statements, type StreamRow } from './schema.js';

/** Where an append looks up and records a stream's key and revision. */
export interface StreamRows {
  get(stream: string): StreamRow | undefined;
  /** What is known without reading the table: `undefined` may still be a stream. */
  known(stream: string): StreamRow | undefined;
  set(stream: string, row: StreamRow): void;
}

/** An append's outcome inside the write transaction, with the positions it inserted (none for a retry or an empty batch). */
export interface Written {
  readonly result: AppendResult;
  readonly inserted?: Inserted;
}

/** Where an append's events went: positions `from` to `to`, at `created` (ms), each event's metadata as stored. */
export interface Inserted {
  readonly from: number;
  readonly to: number;
  readonly created: number;
  readonly metadata: readonly (string | null)[];
}

/**
 * Checks one append against its stream and writes it. Run inside a write
 * transaction, which the caller opens and commits.
 */
export type AppendCheck = (
  rows: StreamRows,
  stream: string,
  events: readonly CheckedEvent[],
  expected: ExpectedRevision,
) => E.Either<WrongExpectedRevision, Written>;

/** The statements an append reads and writes. */
export type AppendStatements = Pick<
  Statements,
  'insertStream' | 'insertNewStream' | 'updateStream' | 'insertEvent' | 'eventAt' | 'eventWithId'
>;

/** A retry's outcome: the events are there already, the last at `revision` and `position`. */
const at = (revision: number, position: number): E.Either<never, Written> =>
  E.right({ result: { nextExpectedRevision: revision, position: String(position) } });

/** The append's conflict with the stream as it is. */
const conflict = (stream: string, expected: ExpectedRevision, row: StreamRow | undefined): E.Either<WrongExpectedRevision, never> =>
  E.left(wrongExpectedRevision(stream, expected, row ? row.revision : 'no_stream'));

/**
 * EventStoreDB's commit check (its IndexWriter.CheckCommit), over `statements`:
 * expected revisions (`no_stream`, `any`, `stream_exists` or a number), and
 * appends of event ids already written taken as retries, not conflicts.
 */
export const makeAppendCheck = (statements: AppendStatements): AppendCheck => {
  const { insertStream, insertNewStream, updateStream, insertEvent, eventAt, eventWithId } = statements;

  const write = (rows: StreamRows, stream: string, row: StreamRow | undefined, events: readonly CheckedEvent[]): Written => {
    const first = (row?.revision ?? -1) + 1;
    const last = first + events.length - 1;
    let key: number;
    if (row) {
      key = row.stream_key;
      updateStream.run(last, key);
    } else {
      key = Number(insertStream.run(stream, last).lastInsertRowid);
    }
    return writeEvents(rows, stream, key, first, events);
  };

  /** Records the stream at the last of `events` and inserts them from revision `first`; its row is already there. */
  const writeEvents = (rows: StreamRows, stream: string, key: number, first: number, events: readonly CheckedEvent[]): Written => {
    const last = first + events.length - 1;
    rows.set(stream, { stream_key: key, revision: last });
    const created = Date.now();
    let from = 0;
    let position = 0;
    const metadatas: (string | null)[] = [];
    for (let i = 0; i < events.length; i += 1) {
      const event = events[i] as CheckedEvent;
      const bytes = event.bytes;
      const data = bytes === undefined ? (event.json as string) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const metadata = event.metadata === undefined ? null : JSON.stringify(event.metadata);
      metadatas.push(metadata);
      const info = insertEvent.run(key, first + i, uuidBytes(event.id), event.type, data, metadata, event.isJson ? 1 : 0, created);
      position = info.lastInsertRowid as number;
      if (i === 0) from = position;
    }
    // Under the write lock each rowid is the largest so far plus one: the batch took from..position, nothing else.
    return {
      result: { nextExpectedRevision: last, position: String(position) },
      inserted: { from, to: position, created, metadata: metadatas },
    };
  };

  // EventStoreDB's commit check (its IndexWriter.CheckCommit), run inside one write transaction.
  const appendChecked: AppendCheck = (rows, stream, events, expected) => {
    if (expected === 'no_stream' && events.length > 0 && rows.known(stream) === undefined) {
      // The common case of a new stream (every enqueue): one statement instead of a lookup and an insert.
      const inserted = insertNewStream.run(stream, events.length - 1);
      if (inserted.changes === 1) return E.right(writeEvents(rows, stream, Number(inserted.lastInsertRowid), 0, events));
    }
    const row = rows.get(stream);
    const current = row?.revision ?? -1;

    if (events.length === 0) {
      const matches =
        expected === 'any' || (expected === 'no_stream' ? !row : expected === 'stream_exists' ? row !== undefined : expected === current);
      if (!matches) return conflict(stream, expected, row);
      return row ? at(current, (eventAt.get(row.stream_key, current) as { position: number }).position) : at(-1, Number(startPosition));
    }

    if (expected === 'any' || expected === 'stream_exists') {
      if (!row) return expected === 'any' ? E.right(write(rows, stream, row, events)) : conflict(stream, expected, row);
      // The first id decides: new means a new append; seen means a retry, and then every id must have been seen.
      let found = eventWithId.get(row.stream_key, uuidBytes((events[0] as CheckedEvent).id));
      if (!found) return E.right(write(rows, stream, row, events));
      for (const event of events.slice(1)) {
        found = eventWithId.get(row.stream_key, uuidBytes(event.id));
        if (!found) return conflict(stream, expected, row);
      }
      return at(found.revision, found.position);
    }

    const from = expected === 'no_stream' ? -1 : expected;
    if (from === current) return E.right(write(rows, stream, row, events));
    if (from > current || !row) return conflict(stream, expected, row);
    // A stale expected revision is a retry when the same ids follow it, in order; otherwise a conflict.
    let revision = from;
    let position = 0;
    for (const event of events) {
      revision += 1;
      const stored = eventAt.get(row.stream_key, revision);
      if (!stored || !stored.event_id.equals(uuidBytes(event.id))) return conflict(stream, expected, row);
      position = stored.position;
    }
    return at(revision, position);
  };
  return appendChecked;
};
