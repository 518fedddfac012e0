// Issue 22: the store remembers which broker dispatches its jobs. The first engine that starts consuming records its
// broker's kind in the stream `jobtrail-settings` (`BrokerSet`); an engine or command with a broker of another kind is
// refused before it records anything, with the fix. `engine.setBroker` (CLI: `jobtrail broker set <url>`) switches a
// store deliberately, recorded too. See docs/running.md#the-store-remembers-its-broker.
import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { PathReporter } from 'io-ts/lib/PathReporter.js';
import { brandClass, ErrorCodes, JobtrailError, StoreUnavailableError } from '../errors/index.js';
import type { EventStore, RecordedEvent } from '../eventStore/index.js';
import { IsoDate } from '../job/index.js';
import { UndecodableEventError } from '../jobStore/index.js';

/** The stream of a store's own settings (category `jobtrail`, which no projection reads). */
export const settingsStreamName = 'jobtrail-settings';

/** `BrokerSet`: from now on, the broker of `kind` (`memory`, `rabbitmq`) dispatches this store's jobs. */
export const BrokerSet = t.type(
  {
    type: t.literal('BrokerSet'),
    data: t.intersection([
      t.type({ kind: t.string, at: IsoDate }),
      // url: redacted (never a password); by: a process id when an engine started, a person's name when set by hand.
      t.partial({ url: t.string, by: t.string, reason: t.string }),
    ]),
  },
  'BrokerSet',
);
export type BrokerSet = t.TypeOf<typeof BrokerSet>;

/** What a store says about its broker: the last `BrokerSet` of its settings stream. */
export interface BrokerRecord {
  readonly kind: string;
  /** The broker's URL without its password; absent for the in-process broker or an adapter passed as an object. */
  readonly url?: string;
  readonly by?: string;
  readonly at: string;
  readonly reason?: string;
}

/** The record and the revision of the settings stream it was read at. */
interface Loaded {
  readonly record: BrokerRecord | undefined;
  readonly revision: number | 'no_stream';
  readonly readAt: number;
}

/** Folds the settings stream: the last `BrokerSet` wins; other (future) settings events are not this fold's business. */
const fold = (events: readonly RecordedEvent[], readAt: number): Loaded => {
  let record: BrokerRecord | undefined;
  let revision: number | 'no_stream' = 'no_stream';
  for (const e of events) {
    revision = e.revision;
    if (e.type !== 'BrokerSet') continue;
    const decoded = BrokerSet.decode({ type: e.type, data: e.data });
    if (E.isLeft(decoded)) throw new UndecodableEventError(e.streamId, e.revision, e.type, PathReporter.report(decoded));
    record = decoded.right.data;
  }
  return { record, revision, readAt };
};

/** How a record reads for people: `rabbitmq (amqp://guest:***@host:5672/, recorded by … at …)`. */
export const describeBrokerRecord = (r: BrokerRecord): string =>
  `${r.kind}${r.url !== undefined ? ` at ${r.url}` : ''} (recorded${r.by !== undefined ? ` by ${r.by}` : ''} at ${r.at})`;

/** An engine (or command) whose broker is of another kind than the one its store's jobs are dispatched by. Nothing was recorded. */
export class BrokerMismatchError extends JobtrailError {
  static {
    brandClass(this, 'BrokerMismatchError');
  }
  constructor(
    /** What the store says. */
    readonly recorded: BrokerRecord,
    /** This engine's broker kind. */
    readonly kind: string,
    /** What was refused: `enqueue`, `start`, `retry`, … */
    readonly action: string,
  ) {
    super(
      ErrorCodes.BrokerMismatch,
      `${action} refused: this store's jobs are dispatched by ${describeBrokerRecord(recorded)}, not by this engine's ${kind} broker; ` +
        `nothing was recorded. Open the engine with that broker (createEngine({ broker: … })), or switch the store ` +
        `deliberately with engine.setBroker() on an engine with the new broker (CLI: jobtrail broker set <url>)`,
    );
    this.name = 'BrokerMismatchError';
  }
}

export interface BrokerGuardOptions {
  readonly store: EventStore;
  /** This engine's broker kind (`broker.kind`). */
  readonly kind: string;
  /** This engine's broker URL, redacted; absent for `memory` or an adapter object. */
  readonly url?: string;
  /** false: neither record nor check (`rememberBroker: false`). */
  readonly enabled: boolean;
  /** Recorded as `by` when `claim` records the broker: the process id. */
  readonly processId: string;
  readonly meta: { readonly engineVersion: string; readonly origin: string };
  readonly now: () => Date;
  /** While nothing is recorded, `check` reads again at most this often. Default: 10 000 ms. */
  readonly recheckMs?: number;
}

export interface BrokerGuard {
  /** Throws `BrokerMismatchError` when the store's broker is of another kind. One read, kept; while none is recorded, read again at most every 10 s. */
  check(action: string): Promise<void>;
  /** At `start`: reads afresh, records this broker when none is (at `no_stream`: one of two racing engines wins), or throws `BrokerMismatchError`. */
  claim(): Promise<void>;
  /** The store's record, read now. */
  read(): Promise<BrokerRecord | undefined>;
  /** Records this engine's broker as the store's (a deliberate switch); nothing when the record says the same already. */
  set(options?: { readonly by?: string; readonly reason?: string }): Promise<BrokerRecord>;
}

export const makeBrokerGuard = (o: BrokerGuardOptions): BrokerGuard => {
  const recheckMs = o.recheckMs ?? 10_000;
  let known: Promise<Loaded> | undefined;

  const load = async (): Promise<Loaded> => {
    const r = await o.store.readStream(settingsStreamName)();
    if (E.isLeft(r)) {
      // An operator's tombstone on the settings stream: nothing is remembered, and nothing can be.
      if (r.left._tag === 'StreamDeleted') return { record: undefined, revision: 'no_stream', readAt: Date.now() };
      throw new StoreUnavailableError(`reading the store's broker (${settingsStreamName}): ${r.left.message}`);
    }
    return fold(r.right, Date.now());
  };
  const fresh = (): Promise<Loaded> => {
    const p = load();
    known = p;
    // A failed read is not kept: the next call reads again.
    p.catch(() => {
      if (known === p) known = undefined;
    });
    return p;
  };
  const compare = (loaded: Loaded, action: string): void => {
    if (loaded.record !== undefined && loaded.record.kind !== o.kind) throw new BrokerMismatchError(loaded.record, o.kind, action);
  };
  const append = async (loaded: Loaded, data: BrokerSet['data']): Promise<'done' | 'moved'> => {
    const event = BrokerSet.encode({ type: 'BrokerSet', data });
    const metadata = {
      $correlationId: settingsStreamName,
      $causationId: settingsStreamName,
      engineVersion: o.meta.engineVersion,
      origin: o.meta.origin,
      ...(data.by !== undefined ? { by: data.by } : {}),
    };
    const r = await o.store.append(settingsStreamName, [{ id: randomUUID(), type: event.type, data: event.data, metadata }], {
      expectedRevision: loaded.revision,
    })();
    if (E.isRight(r)) return 'done';
    if (r.left._tag === 'WrongExpectedRevision') return 'moved';
    throw new StoreUnavailableError(`recording the store's broker (${settingsStreamName}): ${r.left.message}`);
  };
  const mine = (by: string | undefined, reason: string | undefined): BrokerSet['data'] => ({
    kind: o.kind,
    at: o.now().toISOString() as IsoDate,
    ...(o.url !== undefined ? { url: o.url } : {}),
    ...(by !== undefined ? { by } : {}),
    ...(reason !== undefined ? { reason } : {}),
  });

  return {
    check: async (action) => {
      if (!o.enabled) return;
      let loaded = await (known ?? fresh());
      if (loaded.record === undefined && Date.now() - loaded.readAt >= recheckMs) loaded = await fresh();
      compare(loaded, action);
    },
    claim: async () => {
      if (!o.enabled) return;
      for (let tries = 0; ; tries++) {
        const loaded = await fresh();
        compare(loaded, 'start');
        if (loaded.record !== undefined) return;
        const data = mine(o.processId, undefined);
        if ((await append(loaded, data)) === 'done') {
          known = Promise.resolve({ record: data, revision: 0, readAt: Date.now() });
          return;
        }
        // Another engine recorded first: read what it recorded and compare.
        if (tries >= 3) throw new StoreUnavailableError(`recording the store's broker: ${settingsStreamName} keeps moving`);
      }
    },
    read: async () => (await fresh()).record,
    set: async (options = {}) => {
      for (let tries = 0; ; tries++) {
        const loaded = await fresh();
        const r = loaded.record;
        if (r !== undefined && r.kind === o.kind && r.url === o.url) return r;
        const data = mine(options.by, options.reason);
        if ((await append(loaded, data)) === 'done') {
          known = Promise.resolve({
            record: data,
            revision: loaded.revision === 'no_stream' ? 0 : loaded.revision + 1,
            readAt: Date.now(),
          });
          return data;
        }
        if (tries >= 3) throw new StoreUnavailableError(`recording the store's broker: ${settingsStreamName} keeps moving`);
      }
    },
  };
};
