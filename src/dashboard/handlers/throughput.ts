import { ProjectionNotInstalledError } from '../../projections/index.js';
import { isThroughputRange, readThroughputHistory, ThroughputRanges } from '../../projections/throughputQueries.js';
import { HttpError, sendJson } from '../http.js';
import type { RouteOf } from '../routes.js';
import type { Handler } from './handler.js';

/**
 * `/api/throughput`: the job-throughput projection's counts for the last hour
 * (per minute), day (per 15 minutes) and week (per hour), ending now, and the
 * counts since the record began; `?range=hour|day|week` answers one series.
 */
export const handleThroughput: Handler<RouteOf<'apiThroughput'>> = async ({ queries }, { res, url }) => {
  const range = url.searchParams.get('range');
  if (range !== null && !isThroughputRange(range))
    throw new HttpError(400, `unknown range ${JSON.stringify(range.slice(0, 40))}; use ${Object.keys(ThroughputRanges).join(', ')}, or no range for all three`);
  let history;
  try {
    history = await readThroughputHistory(queries);
  } catch (error) {
    if (error instanceof ProjectionNotInstalledError) throw new HttpError(503, error.message);
    throw error;
  }
  sendJson(res, 200, range === null ? history : { now: history.now, kinds: history.kinds, ...history.ranges[range] });
};
