// Recorded job histories (test/fixtures/job-histories.jsonl) and the glue to
// feed them, or generated histories, to projections.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { PathReporter } from 'io-ts/lib/PathReporter.js';
import { JobEvent } from '../../src/job/index.js';
import type { ProjectionEvent } from '../../src/projections/index.js';
import type { InterleavedEvent } from './histories.js';

/** One line of a `.jsonl` fixture: an event as stored. */
export interface FixtureLine {
  readonly streamId: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: Readonly<Record<string, unknown>>;
}

export const fixturePath = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
export const projectionPath = (name: string): string => fileURLToPath(new URL(`../../projections/${name}.js`, import.meta.url));
export const projectionSource = (name: string): string => readFileSync(projectionPath(name), 'utf8');

/** The lines of a `.jsonl` fixture, in file order (the global order). */
export const readFixture = (name = 'job-histories.jsonl'): FixtureLine[] =>
  readFileSync(fixturePath(name), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as FixtureLine);

/** Decodes a line's event with the current codec; throws with the decoder's paths. */
export const decodeLine = (line: FixtureLine, index: number): JobEvent => {
  const decoded = JobEvent.decode({ type: line.type, data: line.data });
  if (E.isLeft(decoded))
    throw new Error(
      `fixture line ${index + 1} (${line.streamId} ${line.type}) no longer decodes: ${PathReporter.report(decoded).join('; ')}`,
    );
  return decoded.right;
};

/** The fixture's events per stream, in order. */
export const fixtureHistories = (lines: readonly FixtureLine[] = readFixture()): Map<string, JobEvent[]> => {
  const byStream = new Map<string, JobEvent[]>();
  lines.forEach((line, i) => {
    const list = byStream.get(line.streamId) ?? [];
    list.push(decodeLine(line, i));
    byStream.set(line.streamId, list);
  });
  return byStream;
};

/** Fixture lines as a projection receives them: revisions per stream, positions in file order. */
export const fixtureEvents = (lines: readonly FixtureLine[] = readFixture()): ProjectionEvent[] => {
  const revisions = new Map<string, number>();
  return lines.map((line, i) => {
    const revision = revisions.get(line.streamId) ?? 0;
    revisions.set(line.streamId, revision + 1);
    return {
      streamId: line.streamId,
      revision,
      type: line.type,
      id: randomUUID(),
      data: line.data,
      metadata: line.metadata,
      isJson: true,
      position: String(i + 1),
    };
  });
};

/** Generated, interleaved events as a projection receives them. */
export const toProjectionEvents = (events: readonly InterleavedEvent[]): ProjectionEvent[] =>
  events.map((e, i) => ({
    streamId: e.stream,
    revision: e.revision,
    type: e.event.type,
    id: randomUUID(),
    data: e.event.data,
    metadata: {},
    isJson: true,
    position: String(i + 1),
  }));

/** A value as JSON carries it (what a projection state can hold). */
export const asJson = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

/** Splits a list into consecutive chunks of the given sizes (cycled), to feed across batch boundaries. */
export const chunks = <A>(items: readonly A[], sizes: readonly number[]): A[][] => {
  const out: A[][] = [];
  let i = 0;
  let k = 0;
  while (i < items.length) {
    const size = Math.max(1, sizes[k % Math.max(1, sizes.length)] ?? items.length);
    out.push(items.slice(i, i + size));
    i += size;
    k += 1;
  }
  return out;
};
