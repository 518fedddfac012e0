import { defaultMaxInterruptions, eventTime, fold, isJobView, type JobView } from '../job/index.js';
import type { RecordedJobEvent } from '../jobStore/index.js';
import { spanIdOf, traceCarrierOf, traceIdOf } from '../tracing/index.js';
import { displayStatus } from './status.js';

const ms = (n: number): string => {
  if (n < 1000) return `${Math.round(n)}ms`;
  if (n < 60_000) return `${(n / 1000).toFixed(n < 10_000 ? 2 : 1)}s`;
  if (n < 3_600_000) return `${Math.floor(n / 60_000)}m${Math.round((n % 60_000) / 1000)}s`;
  return `${Math.floor(n / 3_600_000)}h${Math.round((n % 3_600_000) / 60_000)}m`;
};

/** A duration for people: `12ms`, `1.25s`, `3m4s`. */
export const formatDuration = ms;

const json = (v: unknown): string => {
  const text = JSON.stringify(v);
  return text === undefined ? '' : text.length > 300 ? `${text.slice(0, 300)}…` : text;
};

/** What an event says, in one line (the text `formatHistory` prints after the event type). */
export const eventSummary = (e: RecordedJobEvent['event']): string => {
  switch (e.type) {
    case 'JobEnqueued':
      return `worker=${e.data.workerName} queue=${e.data.queue} maxAttempts=${e.data.maxAttempts}${e.data.runAt ? ` runAt=${e.data.runAt}` : ''}${e.data.priority !== undefined ? ` priority=${e.data.priority}` : ''}${e.data.after ? ` after=${e.data.after.join(',')} on=${e.data.on ?? 'completed'}` : ''} payload=${json(e.data.payload)}`;
    case 'JobStarted':
      return `by process ${e.data.workerId} (message ${e.data.backgroundJobId})`;
    case 'JobProgressed':
      return [e.data.percent !== undefined ? `${e.data.percent}%` : '', e.data.message ?? ''].filter(Boolean).join(' ');
    case 'JobCompleted':
      return `in ${ms(e.data.durationMs)}${e.data.result !== undefined ? ` result=${json(e.data.result)}` : ''}`;
    case 'JobErrored':
      return `${e.data.error.name}: ${e.data.error.message}${e.data.durationMs !== undefined ? ` after ${ms(e.data.durationMs)}` : ''}${e.data.interrupted === true ? ' (interrupted: not counted in attempts)' : ''}${e.data.actionRunning === true ? ' (timed out, still running)' : ''}${e.data.retryAt ? ` — awaiting retry at ${e.data.retryAt}` : ' — failed: no retry'}`;
    case 'JobReset':
      return `reason=${e.data.reason}${e.data.by ? ` by ${e.data.by}` : ''}`;
    case 'JobCancelled':
      return `${e.data.reason ?? ''}${e.data.by ? ` by ${e.data.by}` : ''}`.trim();
    case 'JobReleased':
      return `released: ${e.data.parents.map((p) => `${p.jobId} ${p.status}`).join(', ')}`;
    case 'JobContinuationAdded':
      return `continuation ${e.data.childJobId} waits for this job`;
    case 'JobCancelRequested':
      return `cancel requested${e.data.reason ? `: ${e.data.reason}` : ''}${e.data.by ? ` by ${e.data.by}` : ''}; the action is aborted, the attempt ends cancelled`;
    case 'JobPurged':
      return `purged${e.data.reason ? `: ${e.data.reason}` : ''}${e.data.by ? ` by ${e.data.by}` : ''}`;
    case 'JobActionReturned':
      return `the timed-out action of attempt ${e.data.attempt} returned; its slot is free`;
  }
};

/** The attempt an event belongs to, when it carries one. */
export const attemptOf = (e: RecordedJobEvent['event']): number | undefined => ('attempt' in e.data ? e.data.attempt : undefined);

/**
 * The replayed timeline: every event with its revision, time, time since the
 * previous event, attempt, and the error with its stack where there is one.
 */
export const formatHistory = (
  events: readonly RecordedJobEvent[],
  options: {
    /** Print the first lines of error stacks. Default: true. */
    readonly stacks?: boolean;
    /** The time of the event before the first one given (for its `+delta` when printing a history in parts). Default: none. */
    readonly previousTime?: string;
  } = {},
): string => {
  const lines: string[] = [];
  let previous: number | undefined = options.previousTime !== undefined ? Date.parse(options.previousTime) : undefined;
  for (const r of events) {
    const at = eventTime(r.event);
    const t = Date.parse(at);
    const delta = previous === undefined ? '' : `+${ms(t - previous)}`;
    previous = t;
    const attempt = attemptOf(r.event);
    lines.push(
      `${String(r.revision).padStart(4)}  ${at}  ${delta.padStart(9)}  ${attempt !== undefined ? `#${attempt}`.padEnd(4) : '    '}  ${r.event.type.padEnd(13)}  ${eventSummary(r.event)}`,
    );
    const trace = traceLine(r);
    if (trace !== undefined) lines.push(`${' '.repeat(54)}${trace}`);
    if (r.event.type === 'JobErrored' && options.stacks !== false && r.event.data.error.stack)
      for (const l of r.event.data.error.stack.split('\n').slice(1, 8)) lines.push(`${' '.repeat(54)}${l.trim()}`);
  }
  return lines.join('\n');
};

/**
 * Where an event's trace begins (docs/tracing.md): the enqueue's trace and span for `JobEnqueued`, the attempt's for
 * `JobStarted`, from their metadata; `undefined` for other events and untraced ones.
 */
export const traceLine = (r: Pick<RecordedJobEvent, 'event' | 'metadata'>): string | undefined => {
  if (r.event.type !== 'JobEnqueued' && r.event.type !== 'JobStarted') return undefined;
  const carrier = traceCarrierOf(r.metadata);
  return carrier === undefined ? undefined : `trace ${traceIdOf(carrier.traceparent)} span ${spanIdOf(carrier.traceparent)}`;
};

/** The `trace` row `jobtrail show` adds to a traced job's view: the trace id its `JobEnqueued` recorded; `undefined` when none. */
export const traceRow = (events: readonly Pick<RecordedJobEvent, 'event' | 'metadata'>[]): string | undefined => {
  const first = events[0];
  const carrier = first?.event.type === 'JobEnqueued' ? traceCarrierOf(first.metadata) : undefined;
  return carrier === undefined ? undefined : `${'trace'.padEnd(16)}${traceIdOf(carrier.traceparent)}`;
};

/**
 * The timed-out attempts whose action still runs (`actionsRunning`), for people: "timed out, still running", or,
 * when the process running it is known to be gone (`gone`), that the action went with it.
 */
export const actionsRunningText = (v: JobView, gone: ReadonlySet<string> = new Set()): string | undefined =>
  v.actionsRunning === undefined || v.actionsRunning.length === 0
    ? undefined
    : v.actionsRunning
        .map((a) =>
          a.workerId !== undefined && gone.has(a.workerId)
            ? `attempt ${a.attempt} timed out at ${a.since}; its process ${a.workerId} is gone, and the action with it`
            : `timed out, still running: attempt ${a.attempt} since ${a.since}${a.workerId !== undefined ? ` on ${a.workerId}` : ''} (it keeps its worker's slot until its action returns)`,
        )
        .join('; ');

/** A job's view, as `key: value` lines; `gone`: the processes known to be gone (see `actionsRunningText`). */
export const formatView = (v: JobView, gone?: ReadonlySet<string>): string => {
  const rows: [string, unknown][] = [
    ['job', v.jobId],
    [
      'status',
      displayStatus(v) +
        (v.status === 'errored' ? (v.retryAt ? ` (next attempt at ${v.retryAt})` : ' (no retry left)') : '') +
        (v.cancelRequested !== undefined ? ' (cancel requested)' : '') +
        (v.actionsRunning?.some((a) => a.workerId === undefined || gone?.has(a.workerId) !== true) === true
          ? ' (timed out, still running)'
          : ''),
    ],
    ['worker', v.workerName],
    ['queue', v.queue],
    ['attempts', `${v.attempts} of ${v.maxAttempts}${v.attemptBase > 0 ? ` (after a manual retry at attempt ${v.attemptBase})` : ''}`],
    [
      'interruptions',
      v.interruptions !== undefined
        ? `${v.interruptions} of ${v.maxInterruptions ?? defaultMaxInterruptions} retried (a shutdown or a lost process; not counted in attempts)`
        : undefined,
    ],
    ['backgroundJobId', v.backgroundJobId],
    ['enqueued', v.enqueuedAt],
    ['runAt', v.runAt],
    ['priority', v.priority],
    ['after', v.after !== undefined ? `${v.after.join(', ')} (on ${v.on ?? 'completed'})` : undefined],
    [
      'released',
      v.released !== undefined ? `${v.released.at} (${v.released.parents.map((p) => `${p.jobId} ${p.status}`).join(', ')})` : undefined,
    ],
    ['children', v.children !== undefined ? v.children.join(', ') : undefined],
    ['started', v.startedAt],
    ['completed', v.completedAt],
    ['errored', v.erroredAt],
    [
      'cancelled',
      v.cancelledAt !== undefined ? `${v.cancelledAt}${v.cancelReason !== undefined ? ` (${v.cancelReason})` : ''}` : undefined,
    ],
    [
      'cancel',
      v.cancelRequested !== undefined
        ? `requested at ${v.cancelRequested.at}${v.cancelRequested.by !== undefined ? ` by ${v.cancelRequested.by}` : ''}${v.cancelRequested.reason !== undefined ? ` (${v.cancelRequested.reason})` : ''}; attempt ${v.cancelRequested.attempt} still running${v.workerId !== undefined ? ` on ${v.workerId}` : ''}`
        : undefined,
    ],
    ['action', actionsRunningText(v, gone)],
    ['duration', v.durationMs !== undefined ? ms(v.durationMs) : undefined],
    [
      'progress',
      v.progress
        ? `${v.progress.percent ?? ''}${v.progress.percent !== undefined ? '%' : ''} ${v.progress.message ?? ''}`.trim()
        : undefined,
    ],
    ['last error', v.lastError ? `${v.lastError.name}: ${v.lastError.message} (attempt ${v.lastError.attempt})` : undefined],
    ['payload', json(v.payload)],
    ['result', v.result !== undefined ? json(v.result) : undefined],
  ];
  return rows
    .filter(([, value]) => value !== undefined && value !== '')
    .map(([k, value]) => `${k.padEnd(16)}${String(value)}`)
    .join('\n');
};

/** Jobs as a table, one line each. */
export const formatJobTable = (views: readonly JobView[]): string => {
  if (views.length === 0) return '(no jobs)';
  const header = `${'JOB'.padEnd(38)} ${'WORKER'.padEnd(14)} ${'STATUS'.padEnd(14)} ${'ATT'.padStart(3)}  UPDATED`;
  return [
    header,
    ...views.map(
      (v) =>
        `${v.jobId.padEnd(38)} ${v.workerName.slice(0, 14).padEnd(14)} ${displayStatus(v).padEnd(14)} ${String(v.attempts).padStart(3)}  ${v.updatedAt}`,
    ),
  ].join('\n');
};

/** One event of a history as a JSON line (what `history --json` prints). */
export const historyJsonLine = (e: RecordedJobEvent): string =>
  JSON.stringify({
    revision: e.revision,
    position: e.position,
    id: e.id,
    created: e.created,
    type: e.event.type,
    data: e.event.data,
    metadata: e.metadata,
  });

/** A job as it was at some moment: its view folded from the events up to then, and the last of those events. */
export interface ViewAt {
  readonly view: JobView;
  /** The last event folded (`view` is the state right after it). */
  readonly last: RecordedJobEvent;
  /** How many events were folded, of how many the history holds. */
  readonly folded: number;
  readonly total: number;
}

/**
 * Folds the history up to `at`, by each event's own time (`eventTime`): the
 * longest prefix of events that happened at or before `at`, so the result is
 * a state the job really passed through. `undefined` when the job did not
 * exist yet at `at` (its first event is later).
 */
export const viewAt = (events: readonly RecordedJobEvent[], at: Date): ViewAt | undefined => {
  const limit = at.getTime();
  const cut = events.findIndex((r) => Date.parse(eventTime(r.event)) > limit);
  const folded = cut === -1 ? events.length : cut;
  const last = events[folded - 1];
  const state = fold(events.slice(0, folded).map((r) => r.event));
  return last !== undefined && isJobView(state) ? { view: state, last, folded, total: events.length } : undefined;
};
