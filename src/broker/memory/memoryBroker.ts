import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import {
  errorHeader,
  errorHeaderValue,
  type Broker,
  type BrokerUnavailable,
  type ConsumeOptions,
  type Consumer,
  type Delivery,
  type Disposition,
  type Headers,
  type OutgoingMessage,
  type ReplyChannel,
  type StopOptions,
} from '../broker.js';
import { checkQueueName, deadLetterQueueName, directReplyTo, refuseDirectReplyTo } from '../topology.js';

interface StoredMessage {
  /** Place in its queue: a requeued message goes back before everything published after it (FIFO). */
  readonly seq: number;
  /** Higher first among the ready messages of its queue (`OutgoingMessage.priority`, default 0). */
  readonly priority: number;
  readonly body: Buffer;
  readonly messageId: string;
  readonly headers: Headers;
  readonly correlationId: string | undefined;
  readonly replyTo: string | undefined;
  readonly contentType: string;
  readonly redelivered: boolean;
}

interface InFlight {
  readonly message: StoredMessage;
  /** Settled by the handler, or given up by `stop`: later outcomes are ignored. */
  done: boolean;
  promise: Promise<void>;
}

interface ConsumerState {
  readonly queue: QueueState;
  readonly handler: (delivery: Delivery) => Promise<Disposition>;
  readonly prefetch: number;
  readonly deadLetterQueue: string;
  readonly inFlight: Set<InFlight>;
  /**
   * The `lost` signal of all its deliveries (one controller per consumer, not
   * per message): aborted when `stop` gives up the deliveries still unsettled.
   */
  readonly lost: AbortController;
  active: boolean;
  stopping: Promise<void> | undefined;
}

/** The ready messages of one priority, in order, from `head` on (taking one moves `head`: no shift of a long array). */
interface Level {
  readonly priority: number;
  ready: StoredMessage[];
  head: number;
}

interface QueueState {
  readonly name: string;
  /** The messages waiting, one level per priority they have, highest first; empty levels are removed. */
  readonly levels: Level[];
  readonly consumers: ConsumerState[];
  /** Index of the consumer to try first: consumers share a queue round-robin. */
  next: number;
  scheduled: boolean;
}

const unavailable = (message: string): BrokerUnavailable => ({ _tag: 'BrokerUnavailable', message });

const copyBody = (body: Buffer): Buffer => Buffer.from(body);

/** A message's priority as kept: a finite number, 0 when it has none (or one that is not finite). */
const priorityOf = (message: OutgoingMessage): number =>
  message.priority !== undefined && Number.isFinite(message.priority) ? message.priority : 0;

/** The longest delay setTimeout takes as given (2^31 − 1 ms); a longer one fires after 1 ms. */
const maxTimerMs = 2_147_483_647;

/**
 * The in-process broker (`memory`): RabbitMQ's delivery semantics without a
 * server, for tests and the embedded mode. Nothing survives the process.
 *
 * - at-least-once: a delivery that is not acked (requeued, handler threw,
 *   consumer stopped before settling) comes back flagged `redelivered`;
 * - higher `priority` first, FIFO within a priority (a requeued message goes
 *   back to its place; a delayed one enters by its priority when it is due);
 * - at most `prefetch` unsettled deliveries per consumer; several consumers
 *   of one queue take turns;
 * - `delayMs` delivers no earlier than the delay (a timer);
 * - handlers always run later than the call that made their delivery
 *   possible, never inside `publish`.
 */
export const makeMemoryBroker = (): Broker => {
  const queues = new Map<string, QueueState>();
  const timers = new Set<NodeJS.Timeout>();
  const immediates = new Set<NodeJS.Immediate>();
  const replyChannels = new Map<string, (delivery: Delivery) => void>();
  let seq = 0;
  let closed = false;

  /**
   * Runs `fn` once the clock has reached `due` (ms since the epoch), never
   * before: a timer may fire a millisecond early (it rounds), and one longer
   * than setTimeout's limit (2^31 − 1 ms, 24.8 days) would fire at once, so
   * each wake-up checks the clock and waits again for what is left.
   */
  const waitUntil = (due: number, fn: () => void): void => {
    const left = due - Date.now();
    if (left <= 0) return fn();
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        waitUntil(due, fn);
      },
      Math.min(left, maxTimerMs),
    );
    timers.add(timer);
  };

  const later = (fn: () => void): void => {
    const handle = setImmediate(() => {
      immediates.delete(handle);
      fn();
    });
    immediates.add(handle);
  };

  const queueOf = (name: string): QueueState => {
    let q = queues.get(name);
    if (q === undefined) {
      q = { name, levels: [], consumers: [], next: 0, scheduled: false };
      queues.set(name, q);
    }
    return q;
  };

  const schedule = (q: QueueState): void => {
    if (q.scheduled || closed) return;
    q.scheduled = true;
    later(() => {
      q.scheduled = false;
      dispatch(q);
    });
  };

  /** The level of `priority` in `q`, made when it has none. */
  const levelOf = (q: QueueState, priority: number): Level => {
    let i = 0;
    while (i < q.levels.length && (q.levels[i] as Level).priority > priority) i += 1;
    const found = q.levels[i];
    if (found !== undefined && found.priority === priority) return found;
    const level: Level = { priority, ready: [], head: 0 };
    q.levels.splice(i, 0, level);
    return level;
  };

  /** Into its priority's level, at its place by `seq` (a requeued message goes back before those published after it). */
  const enqueue = (q: QueueState, message: StoredMessage): void => {
    const level = levelOf(q, message.priority);
    let i = level.ready.length;
    while (i > level.head && (level.ready[i - 1] as StoredMessage).seq > message.seq) i -= 1;
    if (i === level.ready.length) level.ready.push(message);
    else level.ready.splice(i, 0, message);
    schedule(q);
  };

  /**
   * The message as kept, at place `seq` (0 for a delayed one until it is due: `{ ...stored, seq }` then
   * replaces the key; adding a key after a leading spread would cost V8 a new hidden class per message).
   */
  const store = (message: OutgoingMessage, replyTo: string | undefined, at: number): StoredMessage => ({
    seq: at,
    priority: priorityOf(message),
    body: copyBody(message.body),
    messageId: message.messageId ?? randomUUID(),
    headers: { ...(message.headers ?? {}) },
    correlationId: message.correlationId,
    replyTo,
    contentType: message.contentType ?? 'application/json',
    redelivered: false,
  });

  const toDelivery = (queue: string, m: StoredMessage, lost: AbortSignal): Delivery => ({
    queue,
    body: copyBody(m.body),
    messageId: m.messageId,
    redelivered: m.redelivered,
    headers: { ...m.headers },
    correlationId: m.correlationId,
    replyTo: m.replyTo,
    contentType: m.contentType,
    lost,
  });

  /** The first message of the highest level (there is one: levels are never empty). */
  const take = (q: QueueState): StoredMessage => {
    const level = q.levels[0] as Level;
    const message = level.ready[level.head] as StoredMessage;
    level.head += 1;
    if (level.head === level.ready.length) {
      q.levels.shift();
    } else if (level.head >= 1024 && level.head * 2 >= level.ready.length) {
      level.ready = level.ready.slice(level.head);
      level.head = 0;
    }
    return message;
  };

  const dispatch = (q: QueueState): void => {
    while (q.levels.length > 0 && !closed) {
      const n = q.consumers.length;
      let chosen: ConsumerState | undefined;
      for (let i = 0; i < n; i += 1) {
        const c = q.consumers[(q.next + i) % n] as ConsumerState;
        if (c.active && c.inFlight.size < c.prefetch) {
          chosen = c;
          q.next = (q.next + i + 1) % n;
          break;
        }
      }
      if (chosen === undefined) return;
      deliver(chosen, take(q));
    }
  };

  const deliver = (c: ConsumerState, message: StoredMessage): void => {
    const flight: InFlight = { message, done: false, promise: Promise.resolve() };
    c.inFlight.add(flight);
    const delivery = toDelivery(c.queue.name, message, c.lost.signal);
    flight.promise = Promise.resolve()
      .then(() => c.handler(delivery))
      .then(
        (disposition) => settle(c, flight, disposition),
        () => settle(c, flight, { _tag: 'Requeue' }),
      );
  };

  const settle = (c: ConsumerState, flight: InFlight, disposition: Disposition | undefined): void => {
    if (flight.done) return;
    flight.done = true;
    c.inFlight.delete(flight);
    const m = flight.message;
    switch (disposition?._tag) {
      case 'Ack':
        break;
      case 'DeadLetter': {
        const dlq = queueOf(c.deadLetterQueue);
        seq += 1;
        enqueue(dlq, { ...m, seq, redelivered: false, headers: { ...m.headers, [errorHeader]: errorHeaderValue(disposition.reason) } });
        break;
      }
      default:
        // Requeue, and anything that is not a disposition: never drop a message by mistake.
        enqueue(c.queue, { ...m, redelivered: true });
    }
    schedule(c.queue);
  };

  const publishTo = (queue: string, message: OutgoingMessage, replyTo: string | undefined): TE.TaskEither<BrokerUnavailable, void> => {
    checkQueueName(queue);
    return async () => {
      if (closed) return E.left(unavailable(`publish to "${queue}": the memory broker is closed`));
      const delayMs = message.delayMs ?? 0;
      if (delayMs > 0) {
        const stored = store(message, replyTo, 0);
        const q = queueOf(queue); // declared now, as RabbitMQ's adapter declares on first use
        waitUntil(Date.now() + delayMs, () => {
          seq += 1;
          enqueue(q, { ...stored, seq });
        });
      } else {
        seq += 1;
        enqueue(queueOf(queue), store(message, replyTo, seq));
      }
      return E.right(undefined);
    };
  };

  const stopConsumer = (c: ConsumerState, options: StopOptions = {}): Promise<void> => {
    if (c.stopping !== undefined) return c.stopping;
    c.active = false;
    c.stopping = (async () => {
      const running = Promise.all([...c.inFlight].map((f) => f.promise));
      const graceMs = options.graceMs;
      if (graceMs === undefined || !Number.isFinite(graceMs)) {
        await running;
      } else {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([running, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, graceMs))))]);
        clearTimeout(timer);
      }
      // What the handlers did not settle in time goes back, as RabbitMQ does when a channel closes.
      if (c.inFlight.size > 0) c.lost.abort();
      for (const flight of [...c.inFlight]) {
        flight.done = true;
        c.inFlight.delete(flight);
        enqueue(c.queue, { ...flight.message, redelivered: true });
      }
      const i = c.queue.consumers.indexOf(c);
      if (i >= 0) c.queue.consumers.splice(i, 1);
      if (c.queue.next >= c.queue.consumers.length) c.queue.next = 0;
      schedule(c.queue);
    })();
    return c.stopping;
  };

  const broker: Broker = {
    kind: 'memory',
    keepsMessages: false,
    reachesOtherProcesses: false,

    publish: (queue, message) => {
      refuseDirectReplyTo(queue, message.replyTo);
      return publishTo(queue, message, message.replyTo);
    },

    reply: (address, message) => async () => {
      if (closed) return E.left(unavailable(`reply to "${address}": the memory broker is closed`));
      const onReply = replyChannels.get(address);
      if (onReply !== undefined) {
        const delivery = toDelivery(address, store(message, message.replyTo, 0), new AbortController().signal);
        later(() => {
          if (replyChannels.get(address) === onReply) onReply(delivery);
        });
      } else if (queues.has(address)) {
        seq += 1;
        enqueue(queueOf(address), store(message, message.replyTo, seq));
      }
      // Otherwise dropped, as RabbitMQ drops a reply to an address nobody listens on.
      return E.right(undefined);
    },

    consume: async (
      queue: string,
      handler: (delivery: Delivery) => Promise<Disposition>,
      options: ConsumeOptions = {},
    ): Promise<Consumer> => {
      checkQueueName(queue);
      if (closed) throw new Error(`consume "${queue}": the memory broker is closed`);
      const prefetch = options.prefetch ?? 1;
      if (!Number.isInteger(prefetch) || prefetch < 1)
        throw new RangeError(`consume "${queue}": prefetch must be a positive integer, got ${prefetch}`);
      const q = queueOf(queue);
      const c: ConsumerState = {
        queue: q,
        handler,
        prefetch,
        deadLetterQueue: options.deadLetterQueue ?? deadLetterQueueName(queue),
        inFlight: new Set(),
        lost: new AbortController(),
        active: true,
        stopping: undefined,
      };
      // Every running delivery's attempt listens to it: as many listeners as the prefetch, not a leak.
      setMaxListeners(0, c.lost.signal);
      q.consumers.push(c);
      schedule(q);
      return { stop: (stopOptions) => stopConsumer(c, stopOptions) };
    },

    openReplyChannel: async (onReply) => {
      if (closed) throw new Error('openReplyChannel: the memory broker is closed');
      const privateAddress = `${directReplyTo}.${randomUUID()}`;
      const safeOnReply = (delivery: Delivery): void => {
        try {
          onReply(delivery);
        } catch {
          // A throwing onReply must not break the broker; replies are not acked, so there is nothing to requeue.
        }
      };
      replyChannels.set(privateAddress, safeOnReply);
      const channel: ReplyChannel = {
        address: directReplyTo,
        publish: (queue, message) => publishTo(queue, message, privateAddress),
        stop: async () => {
          replyChannels.delete(privateAddress);
        },
      };
      return channel;
    },

    // This process's queue only: another process's in-process broker is not reachable from here.
    inspectQueue: async (queue) => {
      const q = queues.get(queue);
      if (q === undefined) return undefined;
      const messages = q.levels.reduce((sum, level) => sum + level.ready.length - level.head, 0);
      return { messages, consumers: q.consumers.filter((c) => c.active).length };
    },

    onConnectionChange: () => () => undefined,

    close: async () => {
      if (closed) return;
      await Promise.all([...queues.values()].flatMap((q) => q.consumers.map((c) => stopConsumer(c))));
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const handle of immediates) clearImmediate(handle);
      immediates.clear();
      replyChannels.clear();
      queues.clear();
    },
  };
  return broker;
};
