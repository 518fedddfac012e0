// Helpers for the event-store tests: names, events, and running TaskEithers.
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { v4 as uuid } from 'uuid';
import type { EventData, EventStore, Position } from '../../src/eventStore/index.js';

/** A stream (or prefix) name no other test uses: `test-<uuid>`. */
export const uniqueStream = (prefix = 'test'): string => `${prefix}-${uuid()}`;

/** A JSON event with a fresh id. */
export const anEvent = (data: unknown = { n: 1 }, type = 'Tested', metadata?: Record<string, unknown>): EventData => ({
  id: uuid(),
  type,
  data,
  ...(metadata === undefined ? {} : { metadata }),
});

/** `count` events with fresh ids, data `{ n: i }`. */
export const someEvents = (count: number): EventData[] => Array.from({ length: count }, (_, i) => anEvent({ n: i }));

/** Runs the task; returns the Right value, fails the test on a Left. */
export const right = async <L, A>(task: TE.TaskEither<L, A>): Promise<A> => {
  const result = await task();
  if (E.isLeft(result)) throw new Error(`expected a Right, got Left ${JSON.stringify(result.left)}`);
  return result.right;
};

/** Runs the task; returns the Left value, fails the test on a Right. */
export const left = async <L, A>(task: TE.TaskEither<L, A>): Promise<L> => {
  const result = await task();
  if (E.isRight(result)) throw new Error(`expected a Left, got Right ${JSON.stringify(result.right)}`);
  return result.left;
};

export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** Waits until `condition()` holds; fails after `timeoutMs`, saying what it waited for. */
export const waitFor = async (what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
};

/** Whether calling `run` throws, or returns a promise that rejects, with an instance of `kind`. */
export const failsWith = async (run: () => unknown, kind: new (...args: never[]) => Error): Promise<boolean> => {
  try {
    await run();
    return false;
  } catch (e) {
    return e instanceof kind;
  }
};

/** A position in the global log after everything appended so far: the recorded position of a fresh marker event. */
export const markPosition = async (store: EventStore): Promise<Position> => {
  const stream = uniqueStream('test');
  await right(store.append(stream, [anEvent({ marker: true }, 'Marked')], { expectedRevision: 'no_stream' }));
  const [marker] = await right(store.readStream(stream));
  if (!marker) throw new Error('the marker event was not read back');
  return marker.position;
};
