import { eventTime, type JobView } from '../job/index.js';
import type { RecordedJobEvent } from '../jobStore/index.js';
import { attemptOf, eventSummary, formatDuration, traceLine } from '../present/index.js';
import { actionsRunningText, displayStatus, DisplayStatuses, statusLabels } from '../present/index.js';
import { html, raw, toText, type Html } from './html.js';
import type { Overview, StatusCounts } from './overview.js';
import { throughputHistorySection } from './throughputSection.js';
import { actionPath, jobEventsPath, jobPath } from './routes.js';
import { timeTag } from './timeTag.js';
import { validActions } from './jobActions.js';

/** The lists of jobs by status the dashboard offers (`errored` split in two, as Hangfire does). */
export const ListStatuses = {
  all: 'all',
  awaiting: 'awaiting',
  initial: 'initial',
  in_progress: 'in_progress',
  awaiting_retry: 'awaiting_retry',
  failed: 'failed',
  errored: 'errored',
  completed: 'completed',
  cancelled: 'cancelled',
} as const;
/** A list the dashboard shows: a job status, `errored` split into `awaiting_retry` and `failed`, or `all`. */
export type ListStatus = (typeof ListStatuses)[keyof typeof ListStatuses];

/** What each list is called: the words of `jobtrail list` and `show` (src/present/status.ts), with `all` and `errored`. */
export const listLabels: Readonly<Record<ListStatus, string>> = { all: 'All', ...statusLabels, errored: 'Errored' };

/** The tabs, in the order a job moves through them. */
export const tabs: readonly Exclude<ListStatus, 'errored' | 'all'>[] = Object.values(DisplayStatuses);

/** What every page needs from the server. */
export interface PageContext {
  /** Absent on pages shown before sign-in. */
  readonly csrfToken?: string;
  /** Where the page's live updates come from (server-sent events). */
  readonly feed?: string;
  /** Shown in the footer: which store and broker the engine uses. */
  readonly footer: string;
  readonly active?: ListStatus | 'overview' | 'schedules' | 'queues';
}

/** The view's status as the dashboard names it. */
export const statusOf = (v: Pick<JobView, 'status' | 'retryAt'>): Exclude<ListStatus, 'all' | 'errored'> => displayStatus(v);

const badge = (status: Exclude<ListStatus, 'all'>): Html =>
  html`<span class="badge st-${status}" data-status="${status}">${listLabels[status]}</span>`;

const jobHref = jobPath;

/** `/jobs?status=…&worker=…&after=…`, without the parts that are absent. */
export const listHref = (status: ListStatus, worker?: string, after?: string): string => {
  const q = new URLSearchParams();
  if (status !== 'all') q.set('status', status);
  if (worker !== undefined && worker !== '') q.set('worker', worker);
  if (after !== undefined) q.set('after', after);
  const text = q.toString();
  return text === '' ? '/jobs' : `/jobs?${text}`;
};

const ms = (n: number | undefined): string => (n === undefined ? '—' : formatDuration(n));

const json = (v: unknown, limit = 64 * 1024): string => {
  const text = JSON.stringify(v, null, 2) ?? 'undefined';
  return text.length > limit ? `${text.slice(0, limit)}\n… (${text.length - limit} more characters)` : text;
};

/** A whole page. */
export const layout = (ctx: PageContext, title: string, body: Html): string =>
  '<!doctype html>\n' +
  toText(html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · jobtrail</title>
<link rel="stylesheet" href="/assets/dashboard.css">
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
${ctx.csrfToken !== undefined ? html`<meta name="jobtrail-csrf" content="${ctx.csrfToken}">` : ''}
<script src="/assets/dashboard.js" defer></script>
</head>
<body${ctx.feed !== undefined ? html` data-feed="${ctx.feed}"` : ''}>
<header class="top">
  <a class="brand" href="/">jobtrail</a>
  <nav>
    <a href="/"${ctx.active === 'overview' ? raw(' class="active"') : ''}>Overview</a>
    ${tabs.map((s) => html`<a href="${listHref(s)}"${ctx.active === s ? raw(' class="active"') : ''}>${listLabels[s]}</a>`)}
    <a href="/jobs"${ctx.active === 'all' ? raw(' class="active"') : ''}>All jobs</a>
    <a href="/schedules"${ctx.active === 'schedules' ? raw(' class="active"') : ''}>Recurring</a>
    <a href="/queues"${ctx.active === 'queues' ? raw(' class="active"') : ''}>Queues</a>
    <a href="/processes"${String(ctx.active) === 'processes' ? raw(' class="active"') : ''}>Processes</a>
  </nav>
  ${ctx.csrfToken !== undefined ? html`<label class="by">acting as <input id="by" name="by" maxlength="100" autocomplete="off" value="dashboard"></label>` : ''}
  <span id="live" class="live" hidden></span>
</header>
<main>
${body}
</main>
<footer>${ctx.footer}</footer>
</body>
</html>
`);

/** An error page: what was wrong and what to do. */
export const errorPage = (ctx: PageContext, status: number, title: string, message: string): string =>
  layout(
    ctx,
    title,
    html`<h1>${title}</h1><p class="problem" data-status="${status}">${message}</p><p><a href="/">Back to the overview</a></p>`,
  );

/** The sign-in page: why it is shown, and a form that posts the token to `/login`, then goes back to `next`. */
export const signInPage = (ctx: PageContext, next: string, message: string): string =>
  layout(
    ctx,
    'Sign in',
    html`<h1>Sign in</h1><p class="problem">${message}</p>
<form class="login" method="post" action="/login">
  <input type="hidden" name="next" value="${next}">
  <label>Token <input type="password" name="token" autocomplete="current-password" required></label>
  <button type="submit">Sign in</button>
</form>
<p class="note">The token is the value of <code>--token</code> or <code>JOBTRAIL_DASHBOARD_TOKEN</code>. You can also open any page once with <code>?token=&lt;token&gt;</code>; the browser then keeps a session cookie.</p>`,
  );

const countCards = (c: StatusCounts): Html => html`<div class="cards">
${tabs.map(
  (s) =>
    html`<a class="card st-${s}" href="${listHref(s)}"><span class="label">${listLabels[s]}</span><span class="value" data-count="${s}">${c[s]}</span></a>`,
)}
<a class="card" href="/jobs"><span class="label">All jobs</span><span class="value" data-count="total">${c.total}</span></a>
</div>`;

const percent = (r: number | undefined): string => (r === undefined ? '—' : `${(r * 100).toFixed(1)}%`);
const rate = (n: number): string => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

const throughputChart = (o: Overview): Html => {
  const buckets = o.throughput.buckets;
  const max = Math.max(1, ...buckets.map((b) => b.completed + b.failed));
  const width = 8;
  const height = 48;
  return html`<svg class="chart" viewBox="0 0 ${buckets.length * width} ${height}" preserveAspectRatio="none" role="img" aria-label="completed and failed attempts per ${o.throughput.bucketMs / 1000} s">
${buckets.map((b, i) => {
  const hc = (b.completed / max) * height;
  const hf = (b.failed / max) * height;
  return html`<rect class="ok" x="${i * width + 1}" y="${(height - hc - hf).toFixed(2)}" width="${width - 2}" height="${hc.toFixed(2)}"><title>${b.completed} completed</title></rect><rect class="bad" x="${i * width + 1}" y="${(height - hf).toFixed(2)}" width="${width - 2}" height="${hf.toFixed(2)}"><title>${b.failed} failed</title></rect>`;
})}
</svg>`;
};

const throughputPanel = (o: Overview): Html => {
  const t = o.throughput;
  const watched = t.spanMs < t.windowMs ? html` <span class="note">(watching for ${ms(t.spanMs)}: rates are since then)</span>` : '';
  return html`<h2>Last ${Math.round(t.windowMs / 60_000)} minutes</h2>
<p class="metrics">
  <span><strong data-metric="completed-per-minute">${rate(t.completedPerMinute)}</strong> completed / min</span>
  <span><strong data-metric="failed-per-minute">${rate(t.failedPerMinute)}</strong> failed attempts / min</span>
  <span>failure rate <strong data-metric="failure-rate">${percent(t.failureRate)}</strong></span>
  <span><strong data-metric="window-completed">${t.completed}</strong> completed, <strong data-metric="window-failed">${t.failed}</strong> failed</span>${watched}
</p>
${throughputChart(o)}`;
};

const workersTable = (o: Overview): Html =>
  o.workers.length === 0
    ? html`<h2>Workers</h2><p class="empty">No job enqueued yet.</p>`
    : html`<h2>Workers</h2>
<table class="grid">
<thead><tr><th>Worker</th><th class="n">Enqueued</th><th class="n">Completed</th><th class="n">Failed attempts</th><th class="n">Mean</th><th class="n">p95</th></tr></thead>
<tbody>
${o.workers.map(
  (w) =>
    html`<tr data-worker="${w.name}"><td><a href="${listHref('all', w.name)}">${w.name}</a></td><td class="n">${w.enqueued}</td><td class="n" data-worker-completed>${w.completed}</td><td class="n">${w.errored}</td><td class="n">${ms(w.meanMs)}</td><td class="n">${ms(w.p95Ms)}</td></tr>`,
)}
</tbody>
</table>`;

/** Links to the lists of `statuses`, with their counts: where the overview's short lists go on. */
const listLinks = (o: Overview, statuses: readonly Exclude<ListStatus, 'all' | 'errored'>[]): Html =>
  html`${statuses.map((s, i) => html`${i > 0 ? ' · ' : ''}<a href="${listHref(s)}">${listLabels[s]} (${o.counts[s]})</a>`)}`;

const failuresTable = (o: Overview): Html =>
  o.failures.length === 0
    ? html`<h2>Recent failures</h2><p class="empty">None.</p>`
    : html`<h2>Recent failures <span class="note">(the newest ${o.failures.length} failed attempts)</span></h2>
<table class="grid">
<thead><tr><th>When</th><th>Job</th><th>Worker</th><th class="n">Attempt</th><th>Error</th><th>Then</th></tr></thead>
<tbody>
${o.failures.map(
  (f) =>
    html`<tr><td>${timeTag(f.at)}</td><td><a href="${jobHref(f.jobId)}">${f.jobId}</a></td><td>${f.workerName}</td><td class="n">${f.attempt}</td><td class="error">${f.error.name}: ${f.error.message}</td><td>${f.retryAt !== undefined ? html`retry at ${timeTag(f.retryAt)}` : 'no retry'}</td></tr>`,
)}
</tbody>
</table>
<p class="note">Every errored job: ${listLinks(o, ['failed', 'awaiting_retry'])}</p>`;

const outstandingStatuses = ['initial', 'in_progress', 'awaiting_retry'] as const;

const outstandingTable = (o: Overview): Html => {
  if (o.outstandingCount === 0) return html`<h2>Oldest outstanding</h2><p class="empty">Nothing waiting.</p>`;
  const more = o.outstandingCount - o.outstanding.length;
  const rest = html`<p class="note" data-outstanding-more="${more}">${
    o.outstanding.length === 0
      ? html`Which of them are the oldest is not known right now (the projection learns it as they move);`
      : html`${more} more, all enqueued after these;`
  } every outstanding job: ${listLinks(o, outstandingStatuses)}</p>`;
  return html`<h2>Oldest outstanding <span class="note">(${o.outstandingCount} in all)</span></h2>
${
  o.outstanding.length === 0
    ? ''
    : html`<table class="grid">
<thead><tr><th>Job</th><th>Worker</th><th>Status</th><th>Enqueued</th></tr></thead>
<tbody>
${o.outstanding.map((e) => html`<tr><td><a href="${jobHref(e.jobId)}">${e.jobId}</a></td><td>${e.workerName}</td><td>${e.status}</td><td>${timeTag(e.enqueuedAt)}</td></tr>`)}
</tbody>
</table>`
}
${more > 0 ? rest : ''}`;
};

/** The parts of the overview that live updates replace, by `data-section` name. */
export const overviewSections = (o: Overview): Readonly<Record<string, string>> => ({
  counts: toText(countCards(o.counts)),
  throughput: toText(throughputPanel(o)),
  workers: toText(workersTable(o)),
  failures: toText(failuresTable(o)),
  outstanding: toText(outstandingTable(o)),
});

/** The overview page: counts, throughput, workers, failures, outstanding; live through `/events/overview`. */
export const overviewPage = (ctx: PageContext, o: Overview): string => {
  const s = overviewSections(o);
  const section = (name: string) => html`<section data-section="${name}">${raw(s[name] ?? '')}</section>`;
  return layout(
    { ...ctx, active: 'overview', feed: '/events/overview' },
    'Overview',
    html`<h1>Overview</h1>
${section('counts')}
${throughputHistorySection()}
<div class="two">
${section('throughput')}
${section('workers')}
</div>
${section('failures')}
${section('outstanding')}`,
  );
};

/** A page of a job list. */
export interface JobListModel {
  readonly status: ListStatus;
  readonly worker?: string;
  readonly workers: readonly string[];
  readonly counts?: StatusCounts;
  readonly jobs: readonly JobView[];
  readonly next?: string;
  readonly first: boolean;
}

/** A list of jobs by status, filterable by worker, paged by cursor. */
export const jobListPage = (ctx: PageContext, m: JobListModel): string => {
  const worker = m.worker ?? '';
  const workers = m.worker !== undefined && !m.workers.includes(m.worker) ? [...m.workers, m.worker] : m.workers;
  return layout(
    { ...ctx, active: m.status },
    `${listLabels[m.status]} jobs`,
    html`<h1>${listLabels[m.status]} jobs${m.worker !== undefined ? html` of <code>${m.worker}</code>` : ''}</h1>
<nav class="tabs">
${tabs.map(
  (s) =>
    html`<a href="${listHref(s, m.worker)}"${m.status === s ? raw(' class="active"') : ''}>${listLabels[s]}${m.counts !== undefined && m.worker === undefined ? html` <span class="count">${m.counts[s]}</span>` : ''}</a>`,
)}
<a href="${listHref('all', m.worker)}"${m.status === 'all' ? raw(' class="active"') : ''}>All</a>
</nav>
<form class="filter" method="get" action="/jobs">
  ${m.status !== 'all' ? html`<input type="hidden" name="status" value="${m.status}">` : ''}
  <label>Worker <select name="worker" data-autosubmit>
    <option value="">all workers</option>
    ${workers.map((w) => html`<option value="${w}"${w === worker ? raw(' selected') : ''}>${w}</option>`)}
  </select></label>
  <button type="submit">Filter</button>
</form>
${
  m.jobs.length === 0
    ? html`<p class="empty">No ${m.status === 'all' ? '' : listLabels[m.status].toLowerCase() + ' '}jobs${m.first ? '' : ' on this page'}.</p>`
    : html`<table class="grid jobs">
<thead><tr><th>Job</th><th>Worker</th><th>Status</th><th class="n">Attempts</th><th>Enqueued</th><th>Updated</th><th>Last error</th></tr></thead>
<tbody>
${m.jobs.map(
  (j) =>
    html`<tr data-job="${j.jobId}"><td><a href="${jobHref(j.jobId)}">${j.jobId}</a></td><td>${j.workerName}</td><td>${badge(statusOf(j))}</td><td class="n">${j.attempts}/${j.attemptBase + j.maxAttempts + (j.interruptions ?? 0)}</td><td>${timeTag(j.enqueuedAt)}</td><td>${timeTag(j.updatedAt)}</td><td class="error">${j.lastError !== undefined ? `${j.lastError.name}: ${j.lastError.message.slice(0, 200)}` : ''}</td></tr>`,
)}
</tbody>
</table>`
}
<p class="pager">
  ${m.first ? '' : html`<a href="${listHref(m.status, m.worker)}">« First page</a>`}
  ${m.next !== undefined ? html`<a rel="next" href="${listHref(m.status, m.worker, m.next)}">Next page »</a>` : ''}
</p>`,
  );
};

const time = (iso: string | undefined): Html | undefined => (iso === undefined ? undefined : html`${timeTag(iso)}`);

const field = (label: string, value: Html | string | number | undefined, name?: string): Html =>
  value === undefined || value === ''
    ? html``
    : html`<dt>${label}</dt><dd${name !== undefined ? html` data-field="${name}"` : ''}>${value}</dd>`;

/** Links to jobs (a continuation's parents, a job's children), with the status each parent was released in. */
const jobLinks = (ids: readonly string[], statuses?: readonly { readonly jobId: string; readonly status: string }[]): Html =>
  html`${ids.map((id, i) => {
    const status = statuses?.find((p) => p.jobId === id)?.status;
    return html`${i > 0 ? ', ' : ''}<a href="${jobHref(id)}" data-job-link="${id}">${id}</a>${status !== undefined ? ` (${status})` : ''}`;
  })}`;

/** The job's view: status, worker, queue, attempts, ids, times, progress, payload, result, last error. Replaced live. */
export const jobViewSection = (v: JobView, gone?: ReadonlySet<string>): Html => {
  const status = statusOf(v);
  const stillRunning = actionsRunningText(v, gone);
  return html`<dl class="view">
${field('Status', html`${badge(status)}${v.retryAt !== undefined ? html` next attempt at ${timeTag(v.retryAt)}` : ''}${v.cancelRequested !== undefined ? html` <span class="badge cancel-requested" data-field="cancelRequested">cancel requested</span>` : ''}${v.actionsRunning?.some((a) => a.workerId === undefined || gone?.has(a.workerId) !== true) === true ? html` <span class="badge timed-out-running" data-field="timedOutRunning">timed out, still running</span>` : ''}`, 'status')}
${field('Action', stillRunning, 'actionsRunning')}
${field('Cancel requested', v.cancelRequested !== undefined ? html`${timeTag(v.cancelRequested.at)}${v.cancelRequested.by !== undefined ? ` by ${v.cancelRequested.by}` : ''}${v.cancelRequested.reason !== undefined ? ` (${v.cancelRequested.reason})` : ''}: attempt ${v.cancelRequested.attempt} is being aborted, and ends cancelled when its action returns` : undefined, 'cancelRequest')}
${field('Worker', html`<a href="${listHref('all', v.workerName)}">${v.workerName}</a>`, 'worker')}
${field('Queue', v.queue, 'queue')}
${field('Attempts', `${v.attempts} of ${v.attemptBase + v.maxAttempts + (v.interruptions ?? 0)}${v.attemptBase > 0 ? ` (a manual retry after attempt ${v.attemptBase} granted ${v.maxAttempts} more)` : ''}${(v.interruptions ?? 0) > 0 ? ` (${v.interruptions} interrupted by a shutdown or a lost process, not counted against ${v.maxAttempts})` : ''}`, 'attempts')}
${field('backgroundJobId', v.backgroundJobId, 'backgroundJobId')}
${field('Process', v.workerId, 'workerId')}
${field('Enqueued', html`${timeTag(v.enqueuedAt)}${v.enqueuedBy !== undefined ? ` by ${v.enqueuedBy}` : ''}`, 'enqueuedAt')}
${field('Run at', time(v.runAt), 'runAt')}
${field('After', v.after !== undefined ? html`${jobLinks(v.after, v.released?.parents)} <span class="note">(runs when ${v.on === 'finished' ? 'every one is final' : 'every one completed'})</span>` : undefined, 'after')}
${field('Released', v.released !== undefined ? html`${timeTag(v.released.at)}` : undefined, 'released')}
${field('Children', v.children !== undefined ? jobLinks(v.children) : undefined, 'children')}
${field('Started', time(v.startedAt), 'startedAt')}
${field('Completed', time(v.completedAt), 'completedAt')}
${field('Errored', time(v.erroredAt), 'erroredAt')}
${field('Cancelled', v.cancelledAt !== undefined ? html`${timeTag(v.cancelledAt)}${v.cancelReason !== undefined ? ` (${v.cancelReason})` : ''}${v.status !== 'cancelled' ? ' — since retried' : ''}` : undefined, 'cancelledAt')}
${field('Duration', v.durationMs !== undefined ? ms(v.durationMs) : undefined, 'duration')}
${field(
  'Progress',
  v.progress !== undefined
    ? html`${v.progress.percent !== undefined ? html`<progress max="100" value="${v.progress.percent}"></progress> ${v.progress.percent}% ` : ''}${v.progress.message ?? ''}`
    : undefined,
  'progress',
)}
${field('Last reset', v.lastReset !== undefined ? html`${v.lastReset.reason} at ${timeTag(v.lastReset.at)}${v.lastReset.by !== undefined ? ` by ${v.lastReset.by}` : ''}` : undefined, 'lastReset')}
${field('Updated', time(v.updatedAt), 'updatedAt')}
</dl>
${
  v.lastError !== undefined
    ? html`<h2>Last error <span class="note">(attempt ${v.lastError.attempt}${v.status === 'errored' ? '' : ', before the job moved on'})</span></h2>
<p class="error" data-field="lastError">${v.lastError.name}: ${v.lastError.message}</p>
${v.lastError.stack !== undefined ? html`<pre class="stack">${v.lastError.stack}</pre>` : ''}`
    : ''
}
<div class="two">
<div><h2>Payload</h2><pre class="json" data-field="payload">${json(v.payload)}</pre></div>
<div><h2>Result</h2>${v.result !== undefined ? html`<pre class="json" data-field="result">${json(v.result)}</pre>` : html`<p class="empty">${v.status === 'completed' ? 'none' : 'not yet'}</p>`}</div>
</div>`;
};

/** Who asked for an event: a manual reset's or cancel's `by`, the enqueuer, or the metadata's `by`. */
const byOf = (r: RecordedJobEvent): string | undefined => {
  const d = r.event.data as { by?: unknown; enqueuedBy?: unknown };
  const by = d.by ?? d.enqueuedBy ?? r.metadata['by'];
  return typeof by === 'string' ? by : undefined;
};

/** One event of the timeline; `previous` is the time of the event before it. */
export const timelineRow = (r: RecordedJobEvent, previous: string | undefined): Html => {
  const at = eventTime(r.event);
  const delta = previous === undefined ? '' : `+${formatDuration(Date.parse(at) - Date.parse(previous))}`;
  const attempt = attemptOf(r.event);
  const e = r.event;
  const details =
    e.type === 'JobErrored'
      ? html`<span class="error">${e.data.error.name}: ${e.data.error.message}</span>${e.data.durationMs !== undefined ? ` after ${ms(e.data.durationMs)}` : ''} — ${e.data.retryAt !== undefined ? html`awaiting retry at ${timeTag(e.data.retryAt)}` : 'failed: no retry'}${
          e.data.error.stack !== undefined
            ? html`<details open><summary>stack</summary><pre class="stack">${e.data.error.stack}</pre></details>`
            : ''
        }`
      : html`${eventSummary(e)}`;
  // Where the event's trace begins (JobEnqueued: the enqueue's span; JobStarted: the attempt's), as `history` prints it.
  const trace = traceLine(r);
  return html`<tr class="ev ev-${e.type}" data-revision="${r.revision}"><td class="n">${r.revision}</td><td>${timeTag(at)}</td><td class="n delta">${delta}</td><td class="n">${attempt !== undefined ? `#${attempt}` : ''}</td><td><span class="evtype">${e.type}</span></td><td class="what">${details}${trace !== undefined ? html` <span class="note trace" data-field="trace">${trace}</span>` : ''}</td><td>${byOf(r) ?? ''}</td></tr>`;
};

/** The timeline's rows, oldest first. */
export const timelineRows = (events: readonly RecordedJobEvent[]): Html => {
  let previous: string | undefined;
  return html`${events.map((r) => {
    const row = timelineRow(r, previous);
    previous = eventTime(r.event);
    return row;
  })}`;
};

/** A job's page: the view, the actions, and the replayed history; live through `/events/jobs/<id>`. */
export const jobPage = (ctx: PageContext, view: JobView, events: readonly RecordedJobEvent[], gone?: ReadonlySet<string>): string => {
  const last = events[events.length - 1];
  const actions = validActions(view);
  // Every button is rendered, the invalid ones hidden: the page's script shows the valid ones as the job moves on.
  const hiddenUnless = (a: (typeof actions)[number]) => (actions.includes(a) ? '' : raw(' hidden'));
  return layout(
    { ...ctx, feed: jobEventsPath(view.jobId, last?.revision ?? -1) },
    `Job ${view.jobId}`,
    html`<h1>Job <code data-field="jobId">${view.jobId}</code></h1>
<section class="actions" data-job="${view.jobId}">
  <button type="button" data-action="retry" data-url="${actionPath(view.jobId, 'retry')}"${hiddenUnless('retry')} title="ResetToInitialState: back to initial with a fresh budget of attempts, and dispatched again">Retry (requeue)</button>
  <input id="reason" name="reason" maxlength="500" placeholder="reason (optional)" autocomplete="off"${actions.includes('cancel') || actions.includes('purge') ? '' : raw(' hidden')}>
  <button type="button" data-action="cancel" data-url="${actionPath(view.jobId, 'cancel')}"${hiddenUnless('cancel')} class="danger" title="Cancel an enqueued or errored job; for a running one, ask its process to abort the action (it ends cancelled)">Cancel</button>
  <button type="button" data-action="purge" data-url="${actionPath(view.jobId, 'purge')}"${hiddenUnless('purge')} class="danger" title="Delete this final job and its history for good (recorded as JobsPurged in purges-&lt;day&gt;)">Purge</button>
  <span class="note" data-no-actions${actions.length === 0 ? '' : raw(' hidden')}>No action applies to a job in this state.</span>
  <p id="action-result" class="result" role="status" hidden></p>
</section>
<section data-section="view">${jobViewSection(view, gone)}</section>
<h2>History <span class="note">(every event of <code>job-${view.jobId}</code>, replayed)</span></h2>
<table class="grid timeline">
<thead><tr><th class="n">Rev</th><th>Time</th><th class="n">Since previous</th><th class="n">Attempt</th><th>Event</th><th>Details</th><th>By</th></tr></thead>
<tbody id="timeline">
${timelineRows(events)}
</tbody>
</table>`,
  );
};
