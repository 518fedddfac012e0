import * as net from 'node:net';

/**
 * A TCP proxy in front of RabbitMQ, to cut a client's connection and keep
 * RabbitMQ unreachable for a while without touching the server (which other
 * tests and people share).
 */
export interface RabbitProxy {
  /** An AMQP URL with the given credentials that goes through the proxy. */
  url(userInfo?: string): string;
  /** Destroys every proxied connection (the client sees an unexpected close). */
  drop(): void;
  /** While true, new connections are closed as soon as they open. */
  refuse(refusing: boolean): void;
  /** While true, nothing RabbitMQ sends reaches the client (confirms and deliveries wait; nothing is lost). */
  stall(stalling: boolean): void;
  /** How many connections were proxied so far. */
  connections(): number;
  close(): Promise<void>;
}

/** Starts a proxy on a free local port to `upstreamHost:upstreamPort` (default 127.0.0.1:5672). */
export const startRabbitProxy = async (upstreamHost = '127.0.0.1', upstreamPort = 5672): Promise<RabbitProxy> => {
  const sockets = new Set<net.Socket>();
  const upstreams = new Map<net.Socket, net.Socket>();
  let refusing = false;
  let stalling = false;
  let count = 0;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    count += 1;
    const upstream = net.connect(upstreamPort, upstreamHost);
    sockets.add(client);
    sockets.add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      upstreams.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstreams.set(upstream, client);
    if (!stalling) upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: (userInfo = 'guest:guest') => `amqp://${userInfo}@127.0.0.1:${port}`,
    drop: () => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    refuse: (value) => {
      refusing = value;
    },
    stall: (value) => {
      if (value === stalling) return;
      stalling = value;
      for (const [upstream, client] of upstreams) {
        if (value) {
          upstream.unpipe(client);
          upstream.pause();
        } else {
          upstream.pipe(client);
        }
      }
    },
    connections: () => count,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
