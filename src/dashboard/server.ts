import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { securityHeaders } from './http.js';
import { DashboardConfigError } from './security.js';

/** A listening HTTP server. */
export interface Server {
  /** The port bound (the one picked when asked for 0). */
  readonly port: number;
  /** Closes every connection, live ones included, and the server. */
  stop(): Promise<void>;
}

/**
 * Serves `handle` on `host:port` until stopped. A port in use or an address
 * that is not this machine's is a `DashboardConfigError` that says what to do.
 */
export const runServer = async (
  host: string,
  port: number,
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<Server> => {
  const server = createServer({ requestTimeout: 30_000 }, (req, res) => void handle(req, res));
  // A request Node's parser refuses never reaches the handler: answer it here, briefly.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const body = `the request could not be parsed (${error.code ?? 'malformed'}): check the request line and headers`;
    const headers = Object.entries(securityHeaders)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });

  try {
    // events.once rejects with the 'error' the server emits before it listens (EADDRINUSE, EACCES, …).
    server.listen(port, host);
    await once(server, 'listening');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE')
      throw new DashboardConfigError(`port ${port} on ${host} is in use; pick another with --port (0 picks a free one)`);
    if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND')
      throw new DashboardConfigError(`cannot bind the dashboard to ${host}: ${e.code}; use an address of this machine, e.g. 127.0.0.1`);
    throw error;
  }

  return {
    port: (server.address() as AddressInfo).port,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
};
