import { sendHtml, sendJson, wantsJson } from '../http.js';
import { processesPage } from '../processesPage.js';
import type { RouteOf } from '../routes.js';
import type { Handler } from './handler.js';

/** `GET /processes` (the Processes page; `?all=1` for those stopped or gone long ago) and `/api/processes` (the same as JSON). */
export const handleProcesses: Handler<RouteOf<'processes' | 'apiProcesses'>> = async ({ engine, context }, { req, res, url, route }) => {
  const all = url.searchParams.get('all') === '1';
  const processes = engine.listProcesses ? await engine.listProcesses({ all }) : undefined;
  if (route.kind === 'apiProcesses' || wantsJson(req, url)) return sendJson(res, 200, { ok: true, processes: processes ?? [] });
  sendHtml(res, 200, processesPage(context(true), processes, { all, now: Date.now() }));
};
