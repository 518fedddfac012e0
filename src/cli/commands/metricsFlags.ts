import { InvalidArgumentError } from 'commander';
import type { Registry } from 'prom-client';
import { makeProcessRegistry, serveMetrics, type MetricsServer } from '../../metrics/index.js';
import { UserError } from '../errors.js';
import type { Io } from '../context.js';

/** `--metrics-port`: a whole number from 0 to 65535; anything else is a usage error. */
export const parseMetricsPort = (text: string): number => {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65_535)
    throw new InvalidArgumentError(
      `--metrics-port must be a whole number from 0 to 65535 (0 picks a free port), got ${JSON.stringify(text)}`,
    );
  return n;
};

/**
 * `jobtrail run --metrics-port <n> [--metrics-host <address>]`: a registry with the process metrics, served at
 * `/metrics` (docs/metrics.md); `undefined` without `--metrics-port`. A port in use or a bad address is a usage error
 * (exit 2) in one line.
 */
export const startMetrics = async (
  opts: { readonly metricsPort?: number; readonly metricsHost?: string },
  io: Io,
): Promise<{ readonly registry: Registry; readonly server: MetricsServer } | undefined> => {
  if (opts.metricsPort === undefined) {
    if (opts.metricsHost !== undefined) throw new UserError('--metrics-host needs --metrics-port <n>', 2);
    return undefined;
  }
  const registry = makeProcessRegistry();
  const server = await serveMetrics({
    registry,
    port: opts.metricsPort,
    ...(opts.metricsHost !== undefined ? { host: opts.metricsHost } : {}),
  });
  io.err(`jobtrail run: metrics at ${server.url}`);
  return { registry, server };
};
