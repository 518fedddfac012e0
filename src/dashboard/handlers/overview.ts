import { sendHtml, sendJson } from '../http.js';
import { overviewPage } from '../pages.js';
import type { RouteOf } from '../routes.js';
import type { Handler } from './handler.js';

/** `/` and `/api/overview`: counts, throughput, workers, failures, outstanding jobs. */
export const handleOverview: Handler<RouteOf<'overview' | 'apiOverview'>> = ({ live, context }, { res, route }) =>
  route.kind === 'apiOverview' ? sendJson(res, 200, live.overview()) : sendHtml(res, 200, overviewPage(context(true), live.overview()));
