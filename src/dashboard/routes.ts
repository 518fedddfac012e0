import { jobIdPattern, jobIdRule } from '../job/index.js';
import { scheduleIdPattern, scheduleIdRule } from '../schedules/index.js';
import { queueNamePattern, queueNameRule } from '../job/index.js';
import { HttpError } from './http.js';

/** The actions a page can post. */
export const DashboardActions = { retry: 'retry', cancel: 'cancel', purge: 'purge' } as const;
/** `retry` or `cancel`. */
export type DashboardAction = (typeof DashboardActions)[keyof typeof DashboardActions];

/** The actions the Recurring page can post. */
export const ScheduleActions = { pause: 'pause', resume: 'resume', trigger: 'trigger', remove: 'remove' } as const;
export type ScheduleAction = (typeof ScheduleActions)[keyof typeof ScheduleActions];
const isScheduleAction = (s: string | undefined): s is ScheduleAction => s !== undefined && Object.hasOwn(ScheduleActions, s);
const checkScheduleId = (id: string): string => {
  if (!scheduleIdPattern.test(id))
    throw new HttpError(400, `not a schedule id: ${JSON.stringify(id.slice(0, 140))}; a schedule id is ${scheduleIdRule}`);
  return id;
};

/** The actions the Queues page can post (docs/queues.md). */
export const QueueActions = { pause: 'pause', resume: 'resume' } as const;
export type QueueAction = (typeof QueueActions)[keyof typeof QueueActions];
const isQueueAction = (s: string | undefined): s is QueueAction => s !== undefined && Object.hasOwn(QueueActions, s);
const checkQueue = (name: string): string => {
  if (!queueNamePattern.test(name))
    throw new HttpError(400, `not a queue name: ${JSON.stringify(name.slice(0, 140))}; a queue name is ${queueNameRule}`);
  return name;
};

/** What a request asks for. */
export type Route =
  | { readonly kind: 'overview' }
  | { readonly kind: 'list' }
  | { readonly kind: 'job'; readonly jobId: string }
  | { readonly kind: 'login' }
  | { readonly kind: 'apiOverview' }
  | { readonly kind: 'apiThroughput' }
  | { readonly kind: 'apiList' }
  | { readonly kind: 'apiJob'; readonly jobId: string }
  | { readonly kind: 'action'; readonly jobId: string; readonly action: DashboardAction }
  | { readonly kind: 'overviewEvents' }
  | { readonly kind: 'jobEvents'; readonly jobId: string }
  | { readonly kind: 'asset'; readonly name: string }
  | { readonly kind: 'schedules' }
  | { readonly kind: 'apiSchedules' }
  | { readonly kind: 'scheduleAction'; readonly scheduleId: string; readonly action: ScheduleAction }
  | { readonly kind: 'queues' }
  | { readonly kind: 'apiQueues' }
  | { readonly kind: 'queueAction'; readonly queue: string; readonly action: QueueAction }
  | { readonly kind: 'metrics' }
  | { readonly kind: 'processes' | 'apiProcesses' }
  | { readonly kind: 'bulkAction'; readonly action: DashboardAction };

/** The kinds of route, each answered by one handler (see `handlers/routeTable.ts`). */
export type RouteKind = Route['kind'];
/** The routes of the kinds `K`. */
export type RouteOf<K extends RouteKind> = Extract<Route, { readonly kind: K }>;

const checkJobId = (id: string): string => {
  if (!jobIdPattern.test(id))
    throw new HttpError(400, `not a job id: ${JSON.stringify(id.length > 140 ? `${id.slice(0, 140)}…` : id)}; a job id is ${jobIdRule}`);
  return id;
};

const idParam = (url: URL): string => {
  const id = url.searchParams.get('id');
  if (id === null) throw new HttpError(400, `${url.pathname} needs the job id as ?id=<jobId>`);
  return checkJobId(id);
};

const isAction = (s: string | undefined): s is DashboardAction => s === 'retry' || s === 'cancel' || s === 'purge';

/**
 * The route of a path, or `undefined` for an unknown path. Job ids go in the
 * path (`/jobs/<id>`), or, for the ids `.` and `..` that a URL cannot carry
 * as a path segment, in the query (`/job?id=..`).
 */
export const routeOf = (url: URL): Route | undefined => {
  let parts: string[];
  try {
    parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
  } catch {
    throw new HttpError(400, `the path is not valid percent-encoding: ${JSON.stringify(url.pathname.slice(0, 200))}`);
  }
  const [a, b, c, d, ...rest] = parts;
  if (rest.length > 0) return undefined;
  if (a === '' && b === undefined) return { kind: 'overview' };
  if (a === 'jobs' && b === undefined) return { kind: 'list' };
  if (a === 'jobs' && b !== undefined && c === undefined) return { kind: 'job', jobId: checkJobId(b) };
  if (a === 'job' && b === undefined) return { kind: 'job', jobId: idParam(url) };
  if (a === 'login' && b === undefined) return { kind: 'login' };
  if (a === 'schedules' && b === undefined) return { kind: 'schedules' };
  if (a === 'api' && b === 'schedules' && c === undefined) return { kind: 'apiSchedules' };
  if (a === 'api' && b === 'schedules' && c !== undefined && isScheduleAction(d))
    return { kind: 'scheduleAction', scheduleId: checkScheduleId(c), action: d };
  if (a === 'queues' && b === undefined) return { kind: 'queues' };
  if (a === 'api' && b === 'queues' && c === undefined) return { kind: 'apiQueues' };
  if (a === 'api' && b === 'queues' && c !== undefined && isQueueAction(d)) return { kind: 'queueAction', queue: checkQueue(c), action: d };
  if (a === 'assets' && b !== undefined && c === undefined) return { kind: 'asset', name: b };
  if (a === 'metrics' && b === undefined) return { kind: 'metrics' };
  if ((a === 'processes' && b === undefined) || (a === 'api' && b === 'processes' && c === undefined))
    return { kind: a === 'api' ? 'apiProcesses' : 'processes' };
  if (a === 'api' && b === 'bulk' && isAction(c) && d === undefined) return { kind: 'bulkAction', action: c };
  if (a === 'api') {
    if (b === 'overview' && c === undefined) return { kind: 'apiOverview' };
    if (b === 'throughput' && c === undefined) return { kind: 'apiThroughput' };
    if (b === 'jobs' && c === undefined) return { kind: 'apiList' };
    if (b === 'jobs' && c !== undefined && d === undefined) return { kind: 'apiJob', jobId: checkJobId(c) };
    if (b === 'jobs' && c !== undefined && isAction(d)) return { kind: 'action', jobId: checkJobId(c), action: d };
    if (b === 'job' && c === undefined) return { kind: 'apiJob', jobId: idParam(url) };
    if (b === 'job' && isAction(c) && d === undefined) return { kind: 'action', jobId: idParam(url), action: c };
  }
  if (a === 'events') {
    if (b === 'overview' && c === undefined) return { kind: 'overviewEvents' };
    if (b === 'jobs' && c !== undefined && d === undefined) return { kind: 'jobEvents', jobId: checkJobId(c) };
    if (b === 'job' && c === undefined) return { kind: 'jobEvents', jobId: idParam(url) };
  }
  return undefined;
};

const dotSegment = (id: string): boolean => id === '.' || id === '..';

/** The URL of a job's page. */
export const jobPath = (jobId: string): string =>
  dotSegment(jobId) ? `/job?id=${encodeURIComponent(jobId)}` : `/jobs/${encodeURIComponent(jobId)}`;

/** The URL an action of a job is posted to. */
export const actionPath = (jobId: string, action: DashboardAction): string =>
  dotSegment(jobId) ? `/api/job/${action}?id=${encodeURIComponent(jobId)}` : `/api/jobs/${encodeURIComponent(jobId)}/${action}`;

/** The URL of a job's live events, after a revision. */
export const jobEventsPath = (jobId: string, after: number): string =>
  dotSegment(jobId)
    ? `/events/job?id=${encodeURIComponent(jobId)}&after=${after}`
    : `/events/jobs/${encodeURIComponent(jobId)}?after=${after}`;

/** The URL an action of a schedule is posted to (schedule ids need no escaping in a path, but get it anyway). */
export const scheduleActionPath = (scheduleId: string, action: ScheduleAction): string =>
  `/api/schedules/${encodeURIComponent(scheduleId)}/${action}`;

/** The URL an action of a queue is posted to. */
export const queueActionPath = (queue: string, action: QueueAction): string => `/api/queues/${encodeURIComponent(queue)}/${action}`;
