import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { brandClass, ErrorCodes, JobtrailError } from '../errors/index.js';
import { silentLogger, type Logger } from '../log/index.js';

/** The metrics endpoint could not be served as asked (a port in use, an address not this machine's): the message says what to do. */
export class MetricsServerError extends JobtrailError {
  static {
    brandClass(this, 'MetricsServerError');
  }
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.InvalidConfig, message, options);
    this.name = 'MetricsServerError';
  }
}

/** A listening metrics endpoint. */
export interface MetricsServer {
  /** `http://<host>:<port>/metrics`, with the port actually bound. */
  readonly url: string;
  readonly port: number;
  /** Closes the server and its connections. */
  stop(): Promise<void>;
}

const text = (res: ServerResponse, status: number, body: string, headers: Readonly<Record<string, string>> = {}): void => {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(body);
};

/** Answers `GET /metrics` with the registry's text; `/` says where the metrics are; anything else is a 404 or 405. */
export const metricsHandler =
  (registry: Pick<Registry, 'metrics' | 'contentType'>, log: Logger) =>
  async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics')
      return text(
        res,
        404,
        path === '/' ? 'jobtrail: the metrics are at /metrics\n' : `no page at ${path?.slice(0, 200)}; the metrics are at /metrics\n`,
      );
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return text(res, 405, `${req.method} is not allowed here; use GET\n`, { Allow: 'GET, HEAD' });
    try {
      const body = await registry.metrics();
      res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (error) {
      log.error({ err: (error as Error)?.stack ?? String(error) }, 'metrics: the scrape failed');
      text(res, 500, `the metrics could not be collected: ${(error as Error)?.message ?? String(error)}\n`);
    }
  };

/**
 * Serves `registry` at `http://host:port/metrics` until stopped (`jobtrail run --metrics-port`). Open to whoever can
 * reach the address, as Prometheus exporters are: the default host is loopback; bind another address on a network
 * you trust (docs/metrics.md).
 */
export const serveMetrics = async (options: {
  readonly registry: Pick<Registry, 'metrics' | 'contentType'>;
  readonly port: number;
  readonly host?: string;
  readonly logger?: Logger;
}): Promise<MetricsServer> => {
  const host = options.host ?? '127.0.0.1';
  const { port } = options;
  const log = options.logger ?? silentLogger;
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new MetricsServerError(`the metrics port must be a whole number from 0 to 65535, got ${String(port)}`);
  const handle = metricsHandler(options.registry, log);
  const server = createServer({ requestTimeout: 30_000 }, (req, res) => void handle(req, res));
  try {
    // events.once rejects with the 'error' the server emits before it listens (EADDRINUSE, EACCES, …).
    server.listen(port, host);
    await once(server, 'listening');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE')
      throw new MetricsServerError(`the metrics port ${port} on ${host} is in use; pick another with --metrics-port (0 picks a free one)`, {
        cause: error,
      });
    if (e.code === 'EACCES')
      throw new MetricsServerError(`the metrics port ${port} on ${host} needs privileges this process lacks; use a port above 1023`, {
        cause: error,
      });
    if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN')
      throw new MetricsServerError(
        `cannot serve the metrics on ${host}: ${e.code}; use an address of this machine with --metrics-host, e.g. 127.0.0.1`,
        { cause: error },
      );
    throw error;
  }
  const bound = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${bound}/metrics`,
    port: bound,
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
};
