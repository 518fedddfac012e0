import type { RouteOf } from '../routes.js';
import type { Handler } from './handler.js';

/** `/events/overview`: the overview's sections, pushed as they change. */
export const handleOverviewEvents: Handler<RouteOf<'overviewEvents'>> = ({ live }, { req, res }) => live.streamOverview(req, res);
