// The in-memory log of the fake EventStoreDB: what the server's storage
// writer and index writer do, without gRPC. Every record, user or system, is
// appended here in commit order; the gRPC services (streams.ts, and
// projections.ts) read and write through this interface.
//
// Modelled on the server at v24.10.4 (src/EventStore.Core/Services/Storage/):
// - IndexWriter.CheckCommit decides every append: a tombstoned stream is
//   Deleted; `any`/`stream_exists` consult only the bounded cache of committed
//   event ids (`_committedEvents`, 8 MiB on the server, a count here); an
//   expected revision below the current one compares ids by event number,
//   which the server reads from its index, so it is idempotent for ever.
// - Soft delete (StorageWriterService, WriteDelete) writes `{"$tb":<long.MaxValue>}`
//   to `$$<stream>`; an append with `any`, `no_stream` or the current revision
//   recreates the stream after it, continuing the numbering, and sets `$tb` to
//   the first new revision (SoftUndeleteStream). `stream_exists` is Deleted.
// - Hard delete writes a `$streamDeleted` tombstone into the stream itself.
// - Each record is its own commit: commit == prepare == its log position, as
//   24.x reports self-committed events.
// - The two standard projections jobtrail may need ($by_category,
//   $stream_by_category) write their records synchronously after each record
//   (the server does it moments later), through the same append.

import { randomUUID } from 'node:crypto';

/** A record of the log. */
export interface Stored {
  readonly stream: string;
  /** Its event number; for a tombstone, {@link tombstoneRevision}. */
  readonly revision: number;
  readonly id: string;
  readonly type: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly customMetadata: Uint8Array;
  readonly createdTicks: bigint;
  readonly commit: bigint;
  readonly prepare: bigint;
}

/** An event to append. */
export interface NewEvent {
  readonly id: string;
  readonly type: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly customMetadata: Uint8Array;
}

export type Expected = { readonly kind: 'any' | 'no_stream' | 'stream_exists' } | { readonly kind: 'revision'; readonly revision: number };

export type AppendResult =
  | { readonly ok: true; readonly last: Stored; readonly idempotent: boolean }
  | { readonly ok: false; readonly reason: 'wrong'; readonly current: number }
  | { readonly ok: false; readonly reason: 'deleted' }
  | { readonly ok: false; readonly reason: 'too-big'; readonly size: number; readonly max: number };

/** What a delete did: the record it wrote (a `$metadata` in `$$<stream>`, or the tombstone). */
export type DeleteResult =
  | { readonly ok: true; readonly written: Stored }
  | { readonly ok: false; readonly reason: 'wrong'; readonly current: number }
  | { readonly ok: false; readonly reason: 'deleted' };

export type SystemProjection = '$by_category' | '$stream_by_category';

export interface FakeLog {
  /** User and system appends alike; links are events of type '$>' whose data is `${revision}@${stream}` (utf8), as the server writes them. */
  append(stream: string, events: readonly NewEvent[], expected: Expected): AppendResult;
  /** The stream's events; undefined when it does not exist or was soft-deleted; 'tombstoned' after a hard delete. */
  read(stream: string): readonly Stored[] | undefined | 'tombstoned';
  /** Resolves a link event to the event it points to (undefined when that is gone). */
  resolve(link: Stored): Stored | undefined;
  /** The whole log in commit order, system records included. */
  all(): readonly Stored[];
  /** Called synchronously after each stored record (user or system), in order. */
  onAppend(listener: (e: Stored) => void): () => void;
  /**
   * The standard system projections the fake models: '$by_category' (a link in `$ce-<category>` per event of a stream
   * `<category>-…`, category = text before the first '-') and '$stream_by_category' (a record in `$category-<category>`
   * per new stream: the server writes it as a `$@` stream reference whose data is the stream name, not a `$>` link,
   * CategorizeStreamByPath.cs). Both start disabled, as on a server started without START_STANDARD_PROJECTIONS.
   * Streams whose name starts with `$` have no category (StreamCategoryExtractorByFirstSeparator).
   */
  setSystemProjection(name: SystemProjection, enabled: boolean): void;
  systemProjectionEnabled(name: string): boolean;

  /** Soft (`client.deleteStream`) or hard (`client.tombstoneStream`) delete, checked against `expected` as the server does. */
  delete(stream: string, expected: Expected, mode: 'soft' | 'hard'): DeleteResult;
  /** The stream's last event number, deleted or not (-1 when none): what the server reports as "current". */
  lastRevision(stream: string): number;
  /** Whether `$$<stream>` says the stream is soft-deleted (`$tb` = long.MaxValue). */
  isSoftDeleted(stream: string): boolean;
  /** The size the server counts for an append (Event.SizeOnDisk summed): data + metadata bytes + 2 × the type's UTF-16 length. */
  appendSize(events: readonly NewEvent[]): number;
  /** The limit `append` enforces (the server's MaxAppendSize). */
  readonly maxAppendSize: number;
}

export interface FakeLogOptions {
  /** The server's MaxAppendSize. Default: 1 MiB (1_048_576), the server's default. */
  readonly maxAppendSize?: number;
  /**
   * How many committed event ids the idempotency check for `any`/`stream_exists` remembers (oldest forgotten first).
   * The server bounds it at 8 MiB of entries (ESConsts.CommitedEventsMemCacheLimit), roughly 100k job events. Default: 100_000.
   */
  readonly idempotencyCacheSize?: number;
  /** Enabled at start. Default: none. */
  readonly systemProjections?: readonly SystemProjection[];
}

/** EventNumber.DeletedStream (long.MaxValue) as the server writes it in `$tb` and as a tombstone's revision on the wire. */
export const deletedStreamText = '9223372036854775807';
/** A tombstone's revision in {@link Stored} (the wire carries {@link deletedStreamText}). */
export const tombstoneRevision = Number.MAX_SAFE_INTEGER;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
const empty = new Uint8Array(0);

/** The category of a stream as `$by_category`'s default configuration (`first`, `-`) sees it, or undefined. */
export const categoryOf = (stream: string): string | undefined => {
  if (stream.startsWith('$')) return undefined;
  const at = stream.indexOf('-');
  return at > 0 ? stream.slice(0, at) : undefined;
};

const metaStreamOf = (stream: string): string => `$$${stream}`;

interface StreamState {
  /** Every event ever written, indexed by revision (a recreated stream keeps its earlier, hidden ones). */
  readonly events: Stored[];
  tombstone: Stored | undefined;
  /** `$tb` of its metadata: events before it are hidden; {@link tombstoneRevision} when soft-deleted. */
  truncateBefore: number;
}

export const createFakeLog = (options: FakeLogOptions = {}): FakeLog => {
  const maxAppendSize = options.maxAppendSize ?? 1_048_576;
  const cacheSize = options.idempotencyCacheSize ?? 100_000;
  const log: Stored[] = [];
  const streams = new Map<string, StreamState>();
  // IndexWriter._committedEvents: event id -> where it was written; a Map iterates in insertion order, so the first key is the oldest.
  const committed = new Map<string, { stream: string; revision: number }>();
  const listeners = new Set<(e: Stored) => void>();
  const enabled = new Set<string>(options.systemProjections ?? []);
  let position = 1000n;
  // Records stored but not yet announced; announced in commit order even when a listener appends.
  const pending: Stored[] = [];
  let announcing = false;

  const state = (stream: string): StreamState => {
    let s = streams.get(stream);
    if (!s) {
      s = { events: [], tombstone: undefined, truncateBefore: 0 };
      streams.set(stream, s);
    }
    return s;
  };

  const lastRevision = (stream: string): number => (streams.get(stream)?.events.length ?? 0) - 1;
  const isSoftDeleted = (stream: string): boolean => (streams.get(stream)?.truncateBefore ?? 0) === tombstoneRevision;
  const hasMetadata = (stream: string): boolean => lastRevision(metaStreamOf(stream)) >= 0;

  const remember = (id: string, stream: string, revision: number) => {
    committed.delete(id);
    committed.set(id, { stream, revision });
    while (committed.size > cacheSize) committed.delete(committed.keys().next().value as string);
  };

  const announce = () => {
    if (announcing) return;
    announcing = true;
    try {
      for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
        for (const listener of [...listeners]) listener(next);
      }
    } finally {
      announcing = false;
    }
  };

  const store = (stream: string, revision: number, event: NewEvent, created: bigint): Stored => {
    const stored: Stored = { stream, revision, ...event, createdTicks: created, commit: position, prepare: position };
    // A record's size on disk is roughly its header and its bytes: positions grow as the server's do, by more than one.
    position += 100n + BigInt(event.data.length + event.customMetadata.length + stream.length + event.type.length);
    log.push(stored);
    pending.push(stored);
    if (stream.startsWith('$$')) {
      // The server keeps the raw metadata of each stream (IndexWriter._streamRawMetas) and reads `$tb` from it.
      const original = state(stream.slice(2));
      original.truncateBefore = parseTruncateBefore(event.data);
    }
    return stored;
  };

  const metadataEvent = (json: string): NewEvent => ({
    id: randomUUID(),
    type: '$metadata',
    contentType: 'application/json',
    data: utf8.encode(json),
    customMetadata: empty,
  });

  type Decision = { kind: 'ok'; softDeleted: boolean } | { kind: 'idempotent'; last: Stored } | { kind: 'wrong' } | { kind: 'deleted' };

  // IndexWriter.CheckCommit.
  const checkCommit = (stream: string, expected: Expected, ids: readonly string[]): Decision => {
    const s = streams.get(stream);
    const current = lastRevision(stream);
    if (s?.tombstone) return { kind: 'deleted' };
    const softDeleted = isSoftDeleted(stream);
    if (expected.kind === 'stream_exists') {
      if (softDeleted) return { kind: 'deleted' };
      if (current < 0 && !hasMetadata(stream)) return { kind: 'wrong' };
    }
    if (expected.kind === 'any' || expected.kind === 'stream_exists') {
      let last: Stored | undefined;
      for (const [i, id] of ids.entries()) {
        const found = committed.get(id);
        if (!found || found.stream !== stream) return i === 0 ? { kind: 'ok', softDeleted } : { kind: 'wrong' };
        last = s?.events[found.revision];
      }
      // A cached id names a stored event; `last` is undefined only for an empty batch.
      return last ? { kind: 'idempotent', last } : { kind: 'ok', softDeleted };
    }
    const from = expected.kind === 'revision' ? expected.revision : -1;
    if (from < current) {
      let revision = from;
      for (const id of ids) {
        revision += 1;
        // The server reads the event by number from its index: soft-deleted events still answer.
        if (s?.events[revision]?.id === id) continue;
        if (revision !== from + 1) return { kind: 'wrong' }; // CorruptedIdempotency, answered as WrongExpectedVersion
        if (expected.kind === 'no_stream' && softDeleted) return { kind: 'ok', softDeleted };
        return { kind: 'wrong' };
      }
      return revision === from ? { kind: 'wrong' } : { kind: 'idempotent', last: s?.events[revision] as Stored };
    }
    if (from > current) return { kind: 'wrong' };
    return { kind: 'ok', softDeleted };
  };

  const append = (stream: string, events: readonly NewEvent[], expected: Expected): AppendResult => {
    const size = appendSize(events);
    if (size > maxAppendSize) return { ok: false, reason: 'too-big', size, max: maxAppendSize };
    const decision = checkCommit(
      stream,
      expected,
      events.map((e) => e.id),
    );
    if (decision.kind === 'deleted') return { ok: false, reason: 'deleted' };
    if (decision.kind === 'wrong') return { ok: false, reason: 'wrong', current: lastRevision(stream) };
    if (decision.kind === 'idempotent') return { ok: true, last: decision.last, idempotent: true };
    const s = state(stream);
    const created = BigInt(Date.now()) * 10_000n; // .NET ticks since the Unix epoch, as the client reads "created"
    const first = s.events.length;
    let last: Stored | undefined;
    for (const event of events) {
      last = store(stream, s.events.length, event, created);
      s.events.push(last);
      remember(event.id, stream, last.revision);
    }
    if (decision.softDeleted && events.length > 0) {
      // StorageWriterService.SoftUndeleteStream: the stream lives again from its first new event.
      const meta = state(metaStreamOf(stream));
      meta.events.push(store(metaStreamOf(stream), meta.events.length, metadataEvent(`{"$tb":${first}}`), created));
    }
    announce();
    // An empty batch (the server writes an empty transaction) reports the stream's last event; callers answer one without events themselves.
    last ??= s.events[s.events.length - 1];
    if (last === undefined) return { ok: false, reason: 'wrong', current: -1 };
    return { ok: true, last, idempotent: false };
  };

  const deleteStream = (stream: string, expected: Expected, mode: 'soft' | 'hard'): DeleteResult => {
    const decision = checkCommit(stream, expected, [randomUUID()]);
    if (decision.kind === 'deleted') return { ok: false, reason: 'deleted' };
    if (decision.kind !== 'ok') return { ok: false, reason: 'wrong', current: lastRevision(stream) };
    const created = BigInt(Date.now()) * 10_000n; // .NET ticks since the Unix epoch, as the client reads "created"
    let written: Stored;
    if (mode === 'hard') {
      const s = state(stream);
      written = store(
        stream,
        tombstoneRevision,
        { id: randomUUID(), type: '$streamDeleted', contentType: 'application/octet-stream', data: empty, customMetadata: empty },
        created,
      );
      s.tombstone = written;
    } else {
      // WriteDelete, soft: a stream with neither events nor metadata cannot be deleted.
      if (lastRevision(stream) < 0 && !hasMetadata(stream)) return { ok: false, reason: 'wrong', current: -1 };
      const meta = state(metaStreamOf(stream));
      written = store(metaStreamOf(stream), meta.events.length, metadataEvent(`{"$tb":${deletedStreamText}}`), created);
      meta.events.push(written);
    }
    announce();
    return { ok: true, written };
  };

  const read = (stream: string): readonly Stored[] | undefined | 'tombstoned' => {
    const s = streams.get(stream);
    if (!s) return undefined;
    if (s.tombstone) return 'tombstoned';
    if (s.truncateBefore === tombstoneRevision) return undefined;
    const visible = s.events.slice(s.truncateBefore);
    return visible.length === 0 ? undefined : visible;
  };

  const resolve = (link: Stored): Stored | undefined => {
    if (link.type !== '$>') return undefined;
    const text = fromUtf8.decode(link.data);
    const at = text.indexOf('@');
    if (at < 0) return undefined;
    const revision = Number(text.slice(0, at));
    const visible = read(text.slice(at + 1));
    if (!Array.isArray(visible)) return undefined;
    return (visible as readonly Stored[]).find((e) => e.revision === revision);
  };

  const appendSize = (events: readonly NewEvent[]): number =>
    events.reduce((sum, e) => sum + e.data.length + e.customMetadata.length + e.type.length * 2, 0);

  // The standard projections, as listeners: they run after the record that caused them is stored, like the server's (later) ones.
  const linkMetadata = (e: Stored): Uint8Array =>
    utf8.encode(JSON.stringify({ $v: '1:-1:1:1', $c: Number(e.commit), $p: Number(e.prepare), $o: e.stream, $causedBy: e.id }));
  listeners.add((e) => {
    if (e.type === '$streamDeleted') return; // the server links tombstones too; nothing here reads them
    const category = categoryOf(e.stream);
    if (category === undefined) return;
    if (enabled.has('$by_category')) {
      append(
        `$ce-${category}`,
        [
          {
            id: randomUUID(),
            type: '$>',
            contentType: 'application/octet-stream',
            data: utf8.encode(`${e.revision}@${e.stream}`),
            customMetadata: linkMetadata(e),
          },
        ],
        { kind: 'any' },
      );
    }
    if (enabled.has('$stream_by_category') && e.revision === 0) {
      append(
        `$category-${category}`,
        [
          {
            id: randomUUID(),
            type: '$@',
            contentType: 'application/octet-stream',
            data: utf8.encode(e.stream),
            customMetadata: linkMetadata(e),
          },
        ],
        { kind: 'any' },
      );
    }
  });

  return {
    append,
    read,
    resolve,
    all: () => log,
    onAppend: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setSystemProjection: (name, on) => {
      if (on) enabled.add(name);
      else enabled.delete(name);
    },
    systemProjectionEnabled: (name) => enabled.has(name),
    delete: deleteStream,
    lastRevision,
    isSoftDeleted,
    appendSize,
    maxAppendSize,
  };
};

/** `$tb` from a `$metadata` event's JSON; long.MaxValue (beyond a double's precision) is the soft-delete mark. */
const parseTruncateBefore = (data: Uint8Array): number => {
  const text = fromUtf8.decode(data);
  if (new RegExp(`"\\$tb"\\s*:\\s*${deletedStreamText}\\b`).test(text)) return tombstoneRevision;
  try {
    const parsed: unknown = JSON.parse(text);
    const tb = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['$tb'] : undefined;
    return typeof tb === 'number' && Number.isSafeInteger(tb) && tb >= 0 ? tb : 0;
  } catch {
    return 0;
  }
};
