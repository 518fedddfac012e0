// Embedded stores for the projection runtime's tests: temporary files,
// appending histories, writing projection files.
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { EventStore } from '../../src/eventStore/index.js';

/** A fresh folder under the system's temp folder; `remove()` deletes it. */
export const tempDir = (): { readonly path: string; remove(): void } => {
  const path = join(tmpdir(), `jobtrail-projections-${randomUUID()}`);
  mkdirSync(path, { recursive: true });
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
};

/** Writes a projection file; returns its path. */
export const writeProjection = (dir: string, name: string, source: string): string => {
  const path = join(dir, `${name}.js`);
  writeFileSync(path, source);
  return path;
};

export interface StoredEvent {
  readonly stream: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** Appends events in the given (global) order; consecutive events of one stream go in one append. */
export const appendAll = async (store: EventStore, events: readonly StoredEvent[]): Promise<void> => {
  let i = 0;
  while (i < events.length) {
    const stream = (events[i] as StoredEvent).stream;
    const run: StoredEvent[] = [];
    while (i < events.length && (events[i] as StoredEvent).stream === stream) run.push(events[i++] as StoredEvent);
    const r = await store.append(
      stream,
      run.map((e) => ({ id: randomUUID(), type: e.type, data: e.data, ...(e.metadata !== undefined ? { metadata: e.metadata } : {}) })),
      { expectedRevision: 'any' },
    )();
    if (E.isLeft(r)) throw new Error(`append to ${stream} failed: ${r.left.message}`);
  }
};

/** A projection that counts the events of a category, with the stream ids it saw last. */
export const countingProjection = (category: string, step = 1): string => `
fromCategory('${category}').when({
  $init: function () { return { n: 0 }; },
  $any: function (s, e) { s.n += ${step}; s.last = e.streamId + '@' + e.sequenceNumber; }
});
`;
