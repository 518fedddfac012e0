import { hostname } from 'node:os';
import * as amqp from 'amqplib';
import type { ChannelModel } from 'amqplib';
import { makeScrubber, redactUrl } from '../../log/index.js';
import { brandClass, BrokerUnavailableError } from '../../errors/index.js';
import { sleep } from './sleep.js';

/** One established AMQP connection; `generation` grows by one per (re)connection. */
export interface LiveConnection {
  readonly model: ChannelModel;
  readonly generation: number;
}

/** The connection could not be had in time, or the broker was closed: nothing was sent. */
export class ConnectionUnavailableError extends BrokerUnavailableError {
  static {
    brandClass(this, 'ConnectionUnavailableError');
  }
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConnectionUnavailableError';
  }
}

export interface RabbitConnectionOptions {
  /** `amqp://…` or `amqps://…`; its password is never shown. */
  readonly url: string;
  /** AMQP heartbeat in seconds, unless the URL has `heartbeat`. Default: 10. */
  readonly heartbeatSeconds?: number;
  /** Socket timeout of one connection attempt. Default: 10 000. */
  readonly connectTimeoutMs?: number;
  /** First delay before reconnecting; doubles after each failed attempt. Default: 200. */
  readonly minReconnectDelayMs?: number;
  /** Longest delay between reconnection attempts. Default: 5 000. */
  readonly maxReconnectDelayMs?: number;
  /** Shown by `rabbitmqctl list_connections client_properties` and the management UI. Default: `jobtrail <host>:<pid>`. */
  readonly connectionName?: string;
  /** Hears losses, failed reconnection attempts and flow-control blocks. */
  readonly onWarning: (message: string, cause?: unknown) => void;
}

/** A connection that reconnects by itself until `close()`. */
export interface RabbitConnection {
  /** The URL without its password. */
  readonly redactedUrl: string;
  /** Removes the password from a text. */
  readonly scrub: (text: string) => string;
  /** The connection if it is up now. */
  current(): LiveConnection | undefined;
  /** The connection, waiting up to `timeoutMs` (may be `Infinity`) for it, or until `signal` aborts; rejects with `ConnectionUnavailableError`. */
  waitForLive(timeoutMs: number, signal?: AbortSignal): Promise<LiveConnection>;
  /** Listens for losses (`false`) and recoveries (`true`); not called for the first connection or for `close()`. */
  onChange(listener: (connected: boolean) => void): () => void;
  close(): Promise<void>;
}

const withHeartbeat = (url: string, heartbeatSeconds: number): string => {
  try {
    const parsed = new URL(url);
    if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(heartbeatSeconds));
    return parsed.toString();
  } catch {
    return url;
  }
};

/**
 * Connects to RabbitMQ (rejecting, with the password redacted, when the first
 * attempt fails) and from then on reconnects with exponential backoff
 * whenever the connection is lost. Channels are not recovered here: each user
 * of the connection reopens its own channel on the next `LiveConnection`,
 * because deliveries of a dead channel must never be acked on a new one.
 */
export const makeRabbitConnection = async (options: RabbitConnectionOptions): Promise<RabbitConnection> => {
  const redactedUrl = redactUrl(options.url);
  const scrub = makeScrubber(options.url);
  const connectUrl = withHeartbeat(options.url, options.heartbeatSeconds ?? 10);
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const minDelay = options.minReconnectDelayMs ?? 200;
  const maxDelay = options.maxReconnectDelayMs ?? 5_000;
  const connectionName = options.connectionName ?? `jobtrail ${hostname()}:${process.pid}`;

  let live: LiveConnection | undefined;
  let generation = 0;
  let closed = false;
  let reconnecting: Promise<void> | undefined;
  /** Aborted by close: a reconnection's pause ends at once. */
  const closing = new AbortController();
  const waiters = new Set<(connection: LiveConnection | undefined) => void>();
  const listeners = new Set<(connected: boolean) => void>();

  const emit = (connected: boolean): void => {
    for (const listener of [...listeners]) {
      try {
        listener(connected);
      } catch (err) {
        options.onWarning('a connection listener threw', err);
      }
    }
  };

  const connectOnce = async (): Promise<LiveConnection> => {
    let model: ChannelModel;
    try {
      // noDelay: publishes, confirms and acks are small frames; with Nagle's algorithm each
      // waits for the peer's delayed ACK (~40 ms) when they interleave (measured: 1.7× one by one).
      model = await amqp.connect(connectUrl, {
        timeout: connectTimeoutMs,
        noDelay: true,
        clientProperties: { connection_name: connectionName },
      });
    } catch (err) {
      throw new ConnectionUnavailableError(`cannot connect to ${redactedUrl}: ${scrub(describe(err))}`, { cause: err });
    }
    generation += 1;
    const connection: LiveConnection = { model, generation };
    // Without an 'error' listener a dropped connection would crash the process; 'close' follows every error.
    model.on('error', (err: unknown) => options.onWarning(`connection to ${redactedUrl} failed: ${scrub(describe(err))}`));
    model.on('blocked', (reason: unknown) => options.onWarning(`RabbitMQ blocked publishing on ${redactedUrl}: ${String(reason)}`));
    model.on('close', () => lost(connection));
    return connection;
  };

  const settleWaiters = (connection: LiveConnection | undefined): void => {
    for (const waiter of [...waiters]) waiter(connection);
  };

  const lost = (connection: LiveConnection): void => {
    if (live !== connection) return;
    live = undefined;
    if (closed) return;
    options.onWarning(`lost the connection to ${redactedUrl}; reconnecting`);
    emit(false);
    reconnecting ??= reconnectLoop().finally(() => {
      reconnecting = undefined;
    });
  };

  const reconnectLoop = async (): Promise<void> => {
    let delay = minDelay;
    for (;;) {
      // Jitter keeps many processes from reconnecting in lockstep after a broker restart.
      await sleep(delay / 2 + Math.random() * (delay / 2), closing.signal);
      if (closed) return;
      try {
        const connection = await connectOnce();
        if (closed) {
          await connection.model.close().catch(() => undefined);
          return;
        }
        live = connection;
        settleWaiters(connection);
        emit(true);
        return;
      } catch (err) {
        options.onWarning(`reconnecting to ${redactedUrl} failed; next attempt in ≤ ${Math.min(maxDelay, delay * 2)} ms`, err);
        delay = Math.min(maxDelay, delay * 2);
      }
    }
  };

  live = await connectOnce();

  return {
    redactedUrl,
    scrub,
    current: () => live,
    waitForLive: (timeoutMs, signal) => {
      if (closed) return Promise.reject(new ConnectionUnavailableError(`the broker for ${redactedUrl} is closed`));
      if (live !== undefined) return Promise.resolve(live);
      return new Promise<LiveConnection>((resolve, reject) => {
        const done = (connection: LiveConnection | undefined, error?: Error): void => {
          waiters.delete(waiter);
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          if (connection !== undefined) resolve(connection);
          else reject(error ?? new ConnectionUnavailableError(`the broker for ${redactedUrl} is closed`));
        };
        const waiter = (connection: LiveConnection | undefined): void => done(connection);
        const onAbort = (): void => done(undefined, new ConnectionUnavailableError('stopped while waiting for the connection'));
        const timer = Number.isFinite(timeoutMs)
          ? setTimeout(
              () =>
                done(
                  undefined,
                  new ConnectionUnavailableError(`no connection to ${redactedUrl} within ${timeoutMs} ms (RabbitMQ down or unreachable?)`),
                ),
              timeoutMs,
            )
          : undefined;
        waiters.add(waiter);
        if (signal?.aborted === true) onAbort();
        else signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    onChange: (listener) => {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    close: async () => {
      if (closed) return;
      closed = true;
      closing.abort();
      settleWaiters(undefined);
      await reconnecting;
      const connection = live;
      live = undefined;
      if (connection !== undefined) await connection.model.close().catch(() => undefined);
    },
  };
};

/** A driver error as one line: its message, or its code when it has no message. */
export const describe = (err: unknown): string => {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return err.message !== '' ? err.message : String(code ?? err.name);
  }
  return String(err);
};
