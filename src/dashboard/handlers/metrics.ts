import { HttpError, send } from '../http.js';
import type { RouteOf } from '../routes.js';
import type { Handler } from './handler.js';

/**
 * `/metrics`: the engine's Prometheus registry as text (docs/metrics.md), signed in as every page is. A 404 that says
 * how when the engine was made without `metrics`.
 */
export const handleMetrics: Handler<RouteOf<'metrics'>> = async ({ engine }, { req, res }) => {
  const registry = engine.metrics;
  if (registry === undefined)
    throw new HttpError(
      404,
      'this dashboard has no metrics: its engine was created without them (createEngine({ metrics: { registry } }), docs/metrics.md)',
    );
  const body = await registry.metrics();
  send(res, 200, registry.contentType, req.method === 'HEAD' ? '' : body, { 'Cache-Control': 'no-store' });
};
