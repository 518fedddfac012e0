import { ProjectionNotInstalledError } from '../../projections/index.js';
import { isThroughputRange, makeThroughputReader, ThroughputRanges, type ThroughputReader } from '../../projections/throughputQueries.js';
import { HttpError, sendJson } from '../http.js';
import type { RouteOf } from '../routes.js';
import type { Handler } from './handler.js';

/** One reader per read side: it keeps the closed hours for a minute (see `makeThroughputReader`). */
const readers = new WeakMap<object, ThroughputReader>();

/**
 * `/api/throughput`: the job-throughput projection's counts for the last hour
 * (per minute), day (per 15 minutes) and week (per hour), ending now;
 * `?range=hour|day|week` answers one series.
 */
export const handleThroughput: Handler<RouteOf<'apiThroughput'>> = async ({ queries }, { res, url }) => {
  const range = url.searchParams.get('range');
  if (range !== null && !isThroughputRange(range))
    throw new HttpError(
      400,
      `unknown range ${JSON.stringify(range.slice(0, 40))}; use ${Object.keys(ThroughputRanges).join(', ')}, or no range for all three`,
    );
  let history;
  try {
    let reader = readers.get(queries);
    if (reader === undefined) {
      reader = makeThroughputReader(queries);
      readers.set(queries, reader);
    }
    history = await reader.read();
  } catch (error) {
    if (error instanceof ProjectionNotInstalledError) throw new HttpError(503, error.message);
    throw error;
  }
  sendJson(res, 200, range === null ? history : { now: history.now, kinds: history.kinds, ...history.ranges[range] });
};
