import type { IncomingMessage, ServerResponse } from 'node:http';
import { eventTime, evolve, initialJobState, isFinal, isJobView, type JobState } from '../job/index.js';
import type { JobFollow } from '../jobStore/index.js';
import type { Logger } from '../log/index.js';
import { ProjectionNames } from '../projections/index.js';
import type { DashboardEngine, DashboardQueries } from './dashboardEngine.js';
import { toText } from './html.js';
import { HttpError, securityHeaders } from './http.js';
import { makeThroughputWindow, overviewOf, readDashboardState, totalsOf, type Overview, type ThroughputWindowOptions } from './overview.js';
import { jobViewSection, overviewSections, statusOf, timelineRow } from './pages.js';

/** Writes one server-sent event. */
export const writeEvent = (res: ServerResponse, event: string, data: unknown, id?: number): void => {
  // JSON.stringify never emits a raw newline, so the data is one `data:` line.
  res.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
};

/** Options of `runLive`. */
export interface LiveOptions {
  readonly engine: Pick<DashboardEngine, 'follow'>;
  readonly queries: DashboardQueries;
  /** How the overview's throughput is counted (see `makeThroughputWindow`). */
  readonly throughput?: ThroughputWindowOptions;
  /** Live connections (server-sent event streams) at once; one more is a 503. */
  readonly maxStreams: number;
  readonly log: Logger;
}

/** The dashboard's live side: the overview as the projection changes, and the server-sent event streams of the pages. */
export interface Live {
  /** The overview now: the projection's latest state and the throughput window. */
  overview(): Overview;
  /** The workers the `job-dashboard` projection knows, sorted by name. */
  workerNames(): readonly string[];
  /** Answers with the overview's stream: its sections now, then again as they change (at most every 200 ms, and every 5 s). */
  streamOverview(req: IncomingMessage, res: ServerResponse): void;
  /** Answers with a job's stream: each event after revision `after`, with its timeline row and the job's view, as it is appended. */
  streamJob(req: IncomingMessage, res: ServerResponse, jobId: string, after: number): Promise<void>;
  /** Stops the timers and subscriptions and ends every stream. */
  stop(): Promise<void>;
}

/** Follows the `job-dashboard` projection and starts the timers that keep the streams moving, until stopped. */
export const runLive = async (options: LiveOptions): Promise<Live> => {
  const { engine, queries, maxStreams, log } = options;

  // The overview: the projection's latest state, a throughput window fed by its changes, pushed to pages at most every 200 ms.
  const throughput = makeThroughputWindow(options.throughput);
  let dashboardState = readDashboardState(undefined);
  let changed = false;
  const overviewStreams = new Set<ServerResponse>();
  let pushTimer: NodeJS.Timeout | undefined;
  const overview = (): Overview => overviewOf(dashboardState, throughput.snapshot());
  const pushOverview = () => {
    pushTimer = undefined;
    if (overviewStreams.size === 0) return;
    const data = { sections: overviewSections(overview()) };
    for (const res of overviewStreams) writeEvent(res, 'sections', data);
  };
  const unsubscribe = queries.subscribe(ProjectionNames.jobDashboard, (change) => {
    if (change.partition !== undefined) return;
    changed = true;
    dashboardState = readDashboardState(change.state);
    throughput.observe(totalsOf(dashboardState));
    pushTimer ??= setTimeout(pushOverview, 200);
  });
  try {
    const initial = await queries.getState(ProjectionNames.jobDashboard);
    if (!changed) {
      dashboardState = readDashboardState(initial);
      throughput.observe(totalsOf(dashboardState));
    }
  } catch (error) {
    unsubscribe();
    throw error;
  }
  // Every 5 s: the rates move on as time passes, and the stream shows it is alive.
  const ticker = setInterval(pushOverview, 5_000);
  ticker.unref();

  // Live connections: the overview's, and each job page's with its store subscription.
  const streams = new Set<ServerResponse>();
  const follows = new Set<JobFollow>();
  const pinger = setInterval(() => {
    for (const res of streams) if (!overviewStreams.has(res)) res.write(': ping\n\n');
  }, 20_000);
  pinger.unref();

  const openStream = (req: IncomingMessage, res: ServerResponse): void => {
    if (streams.size >= maxStreams)
      throw new HttpError(503, `too many live connections (${maxStreams}); close some dashboard tabs`, { 'Retry-After': '10' });
    res.writeHead(200, {
      ...securityHeaders,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    streams.add(res);
    req.socket.setTimeout(0);
    res.on('close', () => {
      streams.delete(res);
      overviewStreams.delete(res);
    });
  };

  const streamJob = async (req: IncomingMessage, res: ServerResponse, jobId: string, after: number): Promise<void> => {
    openStream(req, res);
    let closed = false;
    let follow: JobFollow | undefined = undefined;
    res.on('close', () => {
      closed = true;
      if (follow === undefined) return;
      follows.delete(follow);
      void follow.stop();
    });
    let state: JobState = initialJobState;
    let previous: string | undefined;
    const following = await engine.follow(jobId, {
      onEvent: (r) => {
        const row = timelineRow(r, previous);
        previous = eventTime(r.event);
        state = evolve(state, r.event);
        if (closed || r.revision <= after || !isJobView(state)) return;
        writeEvent(
          res,
          'job-event',
          {
            revision: r.revision,
            type: r.event.type,
            status: statusOf(state),
            final: isFinal(state),
            row: toText(row),
            view: toText(jobViewSection(state)),
          },
          r.revision,
        );
      },
      onError: (error) => {
        log.error({ jobId, err: error.message }, 'dashboard: following a job failed');
        if (!closed) writeEvent(res, 'problem', { message: `the live feed stopped: ${error.message}; reload the page` });
        res.end();
      },
    });
    if (closed) {
      await following.stop();
      return;
    }
    follow = following;
    follows.add(following);
  };

  return {
    overview,
    workerNames: () => Object.keys(dashboardState.workers).sort(),
    streamOverview: (req, res) => {
      openStream(req, res);
      overviewStreams.add(res);
      writeEvent(res, 'sections', { sections: overviewSections(overview()) });
    },
    streamJob,
    stop: async () => {
      clearInterval(ticker);
      clearInterval(pinger);
      if (pushTimer !== undefined) clearTimeout(pushTimer);
      unsubscribe();
      await Promise.all([...follows].map((f) => f.stop()));
      follows.clear();
      for (const res of streams) res.end();
    },
  };
};
