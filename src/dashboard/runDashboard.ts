import { silentLogger, type Logger } from '../log/index.js';
import { loadAssets } from './assets.js';
import type { DashboardEngine } from './dashboardEngine.js';
import { makeRequestHandler } from './handleRequest.js';
import { runLive } from './live.js';
import type { ThroughputWindowOptions } from './overview.js';
import { runServer, type Server } from './server.js';
import { checkBinding, DashboardConfigError, makeAccess } from './security.js';

/** Options of `runDashboard`; only `engine` is required. */
export interface DashboardOptions {
  /** The engine whose jobs are shown (either mode: the dashboard only uses the engine's APIs). */
  readonly engine: DashboardEngine;
  /** The address to bind. Default: `127.0.0.1`. Any address that is not loopback requires `token`. */
  readonly host?: string;
  /** The TCP port; 0 picks a free one (see the handle's `url`). Default: 7070. */
  readonly port?: number;
  /**
   * A secret of at least 16 characters that every page and endpoint then
   * requires (Bearer header, or a session cookie set by `?token=`). Default:
   * none, allowed on loopback only.
   */
  readonly token?: string;
  /** Default: silent. */
  readonly logger?: Logger;
  /** The largest request body accepted. Default: 16 KiB. */
  readonly maxBodyBytes?: number;
  /** Live connections (server-sent event streams) at once. Default: 200. */
  readonly maxStreams?: number;
  /** How the overview's throughput is counted. Default: the last 5 minutes in 15-second bars. */
  readonly throughput?: ThroughputWindowOptions;
  /** Jobs per list page. Default: 50. */
  readonly pageSize?: number;
}

/** A running dashboard. */
export interface DashboardHandle {
  /** `http://<host>:<port>/`, with the port actually bound. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Closes every live connection and the server. The engine stays open. */
  stop(): Promise<void>;
}

/**
 * Serves the web dashboard until stopped: an overview updated
 * live from the `job-dashboard` projection, lists of jobs by status, each
 * job's view and replayed history (live from its stream), and the retry and
 * cancel actions. Plain server-rendered HTML, one CSS and one JS file, server-
 * sent events for live updates. Refuses to start on a non-loopback address
 * without a token (`DashboardConfigError`).
 */
export const runDashboard = async (options: DashboardOptions): Promise<DashboardHandle> => {
  const { engine } = options;
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 7070;
  const token = options.token === '' ? undefined : options.token;
  const log = options.logger ?? silentLogger;
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024;
  const maxStreams = options.maxStreams ?? 200;
  const pageSize = options.pageSize ?? 50;
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new DashboardConfigError(`port must be a whole number from 0 to 65535, got ${port}`);
  checkBinding(host, token);
  const access = makeAccess(token);
  const assets = await loadAssets();
  const { queries } = await engine.projections();
  const footer = `store ${engine.adapters.store} · broker ${engine.adapters.broker}`;
  const live = await runLive({ engine, queries, throughput: options.throughput, maxStreams, log });
  const handle = makeRequestHandler({
    engine,
    queries,
    live,
    access,
    assets,
    log,
    host,
    maxBodyBytes,
    pageSize,
    context: (csrf) => ({ footer, ...(csrf ? { csrfToken: access.csrfToken } : {}) }),
  });

  let server: Server;
  try {
    server = await runServer(host, port, handle);
  } catch (error) {
    await live.stop();
    throw error;
  }
  const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  let stopping: Promise<void> | undefined;

  return {
    url: `http://${urlHost}:${server.port}/`,
    host,
    port: server.port,
    stop: () =>
      (stopping ??= (async () => {
        await live.stop();
        await server.stop();
      })()),
  };
};
