import { HttpError, send } from '../http.js';
import type { RouteOf } from '../routes.js';
import type { Handler } from './handler.js';

/** `/assets/<name>`: the CSS, JS and icon, revalidated by ETag. */
export const handleAsset: Handler<RouteOf<'asset'>> = ({ assets }, { req, res, route }) => {
  const asset = assets.get(route.name);
  if (asset === undefined) throw new HttpError(404, `no asset ${JSON.stringify(route.name.slice(0, 100))}`);
  const headers = { ETag: asset.etag, 'Cache-Control': 'no-cache' };
  if (req.headers['if-none-match'] === asset.etag) return send(res, 304, asset.type, '', headers);
  return send(res, 200, asset.type, asset.body, headers);
};
