import type { Route, RouteKind, RouteOf } from '../routes.js';
import { handleAction } from './action.js';
import { handleAsset } from './asset.js';
import { handleBulkAction } from './bulk.js';
import type { Handler } from './handler.js';
import { handleJob } from './job.js';
import { handleJobEvents } from './jobEvents.js';
import { handleJobList } from './jobList.js';
import { handleLogin } from './login.js';
import { handleOverview } from './overview.js';
import { handleOverviewEvents } from './overviewEvents.js';
import { handleScheduleAction, handleSchedules } from './schedules.js';
import { handleQueueAction, handleQueues } from './queues.js';
import { handleThroughput } from './throughput.js';
import { handleMetrics } from './metrics.js';
import { handleProcesses } from './processes.js';

/** How one kind of route is answered. */
export interface RouteEntry<R extends Route> {
  /** The methods it answers; any other is a 405 naming them. */
  readonly methods: readonly string[];
  /**
   * Whether the request must be signed in before the handler runs (a Bearer
   * token or the session cookie; `?token=` signs a browser in). Assets are
   * public, the sign-in form is how one signs in, and an action checks its
   * own credential, which may also come in its body.
   */
  readonly signedIn: boolean;
  readonly handler: Handler<R>;
}

const page = ['GET', 'HEAD'];
const stream = ['GET'];
const post = ['POST'];

/** Every kind of route (see `routeOf`) and its entry. */
export const routeTable: { readonly [K in RouteKind]: RouteEntry<RouteOf<K>> } = {
  overview: { methods: page, signedIn: true, handler: handleOverview },
  apiOverview: { methods: page, signedIn: true, handler: handleOverview },
  apiThroughput: { methods: page, signedIn: true, handler: handleThroughput },
  list: { methods: page, signedIn: true, handler: handleJobList },
  apiList: { methods: page, signedIn: true, handler: handleJobList },
  job: { methods: page, signedIn: true, handler: handleJob },
  apiJob: { methods: page, signedIn: true, handler: handleJob },
  overviewEvents: { methods: stream, signedIn: true, handler: handleOverviewEvents },
  jobEvents: { methods: stream, signedIn: true, handler: handleJobEvents },
  action: { methods: post, signedIn: false, handler: handleAction },
  login: { methods: post, signedIn: false, handler: handleLogin },
  asset: { methods: page, signedIn: false, handler: handleAsset },
  schedules: { methods: page, signedIn: true, handler: handleSchedules },
  apiSchedules: { methods: page, signedIn: true, handler: handleSchedules },
  scheduleAction: { methods: post, signedIn: false, handler: handleScheduleAction },
  queues: { methods: page, signedIn: true, handler: handleQueues },
  apiQueues: { methods: page, signedIn: true, handler: handleQueues },
  queueAction: { methods: post, signedIn: false, handler: handleQueueAction },
  // Prometheus text (docs/metrics.md): signed in as every page is (open on loopback without a token; Bearer with one).
  metrics: { methods: page, signedIn: true, handler: handleMetrics },
  processes: { methods: page, signedIn: true, handler: handleProcesses },
  apiProcesses: { methods: page, signedIn: true, handler: handleProcesses },
  bulkAction: { methods: post, signedIn: false, handler: handleBulkAction },
};
