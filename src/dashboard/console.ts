import { jobIdPattern, jobIdRule, type JobView } from '../job/index.js';
import type { JobSearch, JobSearchCounts, SearchStatus } from '../projections/index.js';
import { searchStatusOf } from '../projections/index.js';
import { html, raw, type Html } from './html.js';
import { validActions } from './jobActions.js';
import { HttpError } from './http.js';
import { layout, listLabels as statusLabels, statusOf, tabs, type ListStatus, type PageContext } from './pages.js';
import type { DashboardAction } from './routes.js';
import { jobPath } from './routes.js';
import { timeTag } from './timeTag.js';

// The jobs list as a console (docs/dashboard.md): search by id, filters, sort, keyset pages both ways with a page
// size, counts per status under the filters, bulk actions. Its whole state is in the URL's query, so a view can be
// linked and reloaded.

/** The words a status may be given as: the dashboard's own, the CLI's (`awaiting-retry`, `in-progress`), and the label's (`enqueued`). */
const statusWords: Readonly<Record<string, ListStatus>> = {
  ...Object.fromEntries(Object.keys(statusLabels).map((s) => [s, s as ListStatus])),
  'awaiting-retry': 'awaiting_retry',
  'in-progress': 'in_progress',
  enqueued: 'initial',
};

/** The page sizes offered. */
export const pageSizes = [20, 50, 100, 200] as const;
/** The largest page size a URL may ask for. */
export const maxPageSize = 500;

/** The time filters, by URL parameter. */
export const timeParams = ['enqueuedSince', 'enqueuedUntil', 'finishedSince', 'finishedUntil'] as const;
type TimeParam = (typeof timeParams)[number];

/** The console's state, as its URL holds it (every field as given, checked). */
export interface ConsoleQuery {
  readonly status: ListStatus;
  /** The job id searched; `match` says how. */
  readonly id?: string;
  readonly match: 'prefix' | 'exact';
  readonly worker?: string;
  readonly queue?: string;
  /** The time filters as given (an ISO time, a date, or a duration ago such as `2h`). */
  readonly times: Readonly<Partial<Record<TimeParam, string>>>;
  readonly sort: 'newest' | 'oldest';
  readonly limit: number;
  readonly cursor?: string;
}

const units: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A time filter's value in ms: an ISO-8601 time (with a zone; without one it is UTC), a date (`2026-05-01`: its
 * start, UTC), or a duration ago (`90s`, `15m`, `2h`, `7d`, `1w`). A 400 saying the accepted forms otherwise.
 */
export const parseTimeParam = (name: string, value: string, now: number): number => {
  const v = value.trim();
  const ago = /^(\d{1,6})\s*([smhdw])$/.exec(v);
  if (ago !== null) return now - Number(ago[1]) * (units[ago[2] as string] as number);
  let text = v;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) text = `${v}T00:00:00Z`;
  else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(v)) text = `${v.replace(' ', 'T')}Z`;
  else if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i.test(v)) text = '';
  const ms = text === '' ? NaN : Date.parse(text.replace(' ', 'T'));
  if (Number.isNaN(ms))
    throw new HttpError(
      400,
      `${name}: ${JSON.stringify(value.slice(0, 60))} is not a time; give an ISO-8601 time (2026-05-01T12:00:00Z; without a zone it is UTC), a date (2026-05-01), or a time ago (15m, 2h, 7d)`,
    );
  return ms;
};

const text = (url: URLSearchParams, name: string, max: number): string | undefined => {
  const v = url.get(name)?.trim();
  if (v === undefined || v === '') return undefined;
  if (v.length > max || /[\u0000-\u001f\u007f]/.test(v))
    throw new HttpError(400, `"${name}" must be at most ${max} characters without control characters`);
  return v;
};

/** The console's state from a URL's query; a 400 naming the parameter and its accepted values for anything wrong. */
export const parseConsoleQuery = (q: URLSearchParams, defaultLimit: number, now: number): ConsoleQuery => {
  const statusText = q.get('status')?.trim().toLowerCase() ?? '';
  const status = statusText === '' ? 'all' : statusWords[statusText];
  if (status === undefined)
    throw new HttpError(
      400,
      `unknown status ${JSON.stringify(statusText.slice(0, 50))}; use one of ${Object.keys(statusWords).join(', ')}`,
    );
  const id = text(q, 'id', 128);
  const matchText = q.get('match') ?? '';
  if (matchText !== '' && matchText !== 'prefix' && matchText !== 'exact')
    throw new HttpError(400, `match: ${JSON.stringify(matchText.slice(0, 20))}; use prefix or exact`);
  const match = matchText === 'exact' ? 'exact' : 'prefix';
  if (id !== undefined && (match === 'exact' ? !jobIdPattern.test(id) : !/^[A-Za-z0-9._:@-]{1,128}$/.test(id)))
    throw new HttpError(400, `id: ${JSON.stringify(id.slice(0, 130))} cannot be (the start of) a job id; a job id is ${jobIdRule}`);
  const sortText = q.get('sort') ?? '';
  if (sortText !== '' && sortText !== 'newest' && sortText !== 'oldest')
    throw new HttpError(400, `sort: ${JSON.stringify(sortText.slice(0, 20))}; use newest or oldest`);
  const limitText = q.get('limit') ?? '';
  const limit = limitText === '' ? defaultLimit : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > maxPageSize)
    throw new HttpError(
      400,
      `limit: ${JSON.stringify(limitText.slice(0, 20))} is not a page size; a whole number from 1 to ${maxPageSize}`,
    );
  const times: Partial<Record<TimeParam, string>> = {};
  for (const name of timeParams) {
    const v = text(q, name, 64);
    if (v === undefined) continue;
    parseTimeParam(name, v, now);
    times[name] = v;
  }
  const worker = text(q, 'worker', 200);
  const queue = text(q, 'queue', 200);
  // `after`: the name of the cursor in links made before the console.
  const cursor = text(q, 'cursor', 400) ?? text(q, 'after', 400);
  const query: ConsoleQuery = {
    status,
    match,
    times,
    sort: sortText === 'oldest' ? 'oldest' : 'newest',
    limit,
    ...(id !== undefined ? { id } : {}),
    ...(worker !== undefined ? { worker } : {}),
    ...(queue !== undefined ? { queue } : {}),
    ...(cursor !== undefined ? { cursor } : {}),
  };
  // Checked here so that a bad range is a 400 that names it.
  const s = toSearch(query, now);
  for (const [a, b] of [
    ['enqueuedSince', 'enqueuedUntil'],
    ['finishedSince', 'finishedUntil'],
  ] as const)
    if (s[a] !== undefined && s[b] !== undefined && (s[a] as number) >= (s[b] as number))
      throw new HttpError(400, `${a} (${times[a]}) must be before ${b} (${times[b]})`);
  return query;
};

/** The search a console state asks for (time filters resolved against `now`). */
export const toSearch = (q: ConsoleQuery, now: number): JobSearch => {
  const times: Partial<Record<TimeParam, number>> = {};
  for (const name of timeParams) {
    const v = q.times[name];
    if (v !== undefined) times[name] = parseTimeParam(name, v, now);
  }
  return {
    ...(q.status !== 'all' ? { status: q.status as SearchStatus } : {}),
    ...(q.id !== undefined ? (q.match === 'exact' ? { jobId: q.id } : { jobIdPrefix: q.id }) : {}),
    ...(q.worker !== undefined ? { workerName: q.worker } : {}),
    ...(q.queue !== undefined ? { queue: q.queue } : {}),
    ...times,
    ...(q.sort === 'oldest' ? { oldestFirst: true } : {}),
    limit: q.limit,
    ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
  };
};

/** Whether a state narrows by anything but the status (then the tab counts need a count query). */
export const hasFilters = (q: ConsoleQuery): boolean =>
  q.id !== undefined || q.worker !== undefined || q.queue !== undefined || Object.keys(q.times).length > 0;

/** The URL query of a state, with changes (`undefined` drops a parameter); defaults are left out. */
export const consoleParams = (
  q: ConsoleQuery,
  defaultLimit: number,
  changes: Partial<Record<string, string | undefined>> = {},
): URLSearchParams => {
  const p = new URLSearchParams();
  const put = (name: string, value: string | undefined) => {
    const v = Object.hasOwn(changes, name) ? changes[name] : value;
    if (v !== undefined && v !== '') p.set(name, v);
  };
  put('status', q.status !== 'all' ? q.status : undefined);
  put('id', q.id);
  put('match', q.id !== undefined && q.match === 'exact' ? 'exact' : undefined);
  put('worker', q.worker);
  put('queue', q.queue);
  for (const name of timeParams) put(name, q.times[name]);
  put('sort', q.sort === 'oldest' ? 'oldest' : undefined);
  put('limit', q.limit !== defaultLimit ? String(q.limit) : undefined);
  put('cursor', q.cursor);
  return p;
};

const href = (p: URLSearchParams): string => {
  const s = p.toString();
  return s === '' ? '/jobs' : `/jobs?${s}`;
};

/** The actions worth offering for every job of a status list (`all` and `errored` mix statuses: all three, each job checked). */
export const actionsForStatus = (status: ListStatus): readonly DashboardAction[] => {
  switch (status) {
    case 'failed':
    case 'cancelled':
      return ['retry', 'purge'];
    case 'completed':
      return ['purge'];
    case 'initial':
    case 'awaiting':
    case 'awaiting_retry':
    case 'in_progress':
      return ['cancel'];
    default:
      return ['retry', 'cancel', 'purge'];
  }
};

/** How many jobs a status list holds, from the counts. */
export const countOf = (counts: JobSearchCounts['counts'] & { readonly total?: number }, total: number, status: ListStatus): number =>
  status === 'all' ? total : status === 'errored' ? counts.awaiting_retry + counts.failed : counts[status];

/** A page of the console. */
export interface ConsoleModel {
  readonly query: ConsoleQuery;
  readonly defaultLimit: number;
  readonly workers: readonly string[];
  readonly queues: readonly string[];
  /** Absent when the read side cannot count under these filters. */
  readonly counts?: JobSearchCounts;
  readonly jobs: readonly JobView[];
  readonly next?: string;
  readonly prev?: string;
  /** Whether bulk actions can be posted (the engine has the bulk functions). */
  readonly bulk: boolean;
}

const actionLabels: Readonly<Record<DashboardAction, string>> = { retry: 'Retry', cancel: 'Cancel', purge: 'Purge' };

const badge = (v: JobView): Html => {
  const s = searchStatusOf(v);
  return html`<span class="badge st-${s}" data-status="${s}">${statusLabels[s]}</span>${v.cancelRequested !== undefined ? html` <span class="badge cancel-requested">cancel requested</span>` : ''}`;
};

const option = (value: string, label: string, selected: boolean): Html =>
  html`<option value="${value}"${selected ? raw(' selected') : ''}>${label}</option>`;

/** The filter form: GET /jobs with every parameter (no cursor: a new search starts at its first page). */
const filterForm = (m: ConsoleModel): Html => {
  const q = m.query;
  const workers = q.worker !== undefined && !m.workers.includes(q.worker) ? [...m.workers, q.worker] : m.workers;
  const sizes: readonly number[] = (pageSizes as readonly number[]).includes(q.limit)
    ? pageSizes
    : [...pageSizes, q.limit].sort((a, b) => a - b);
  const timeInput = (name: TimeParam, label: string) =>
    html`<label>${label} <input type="text" name="${name}" value="${q.times[name] ?? ''}" size="16" placeholder="2h or 2026-05-01T12:00Z" autocomplete="off"></label>`;
  return html`<form class="filter console" method="get" action="/jobs" id="console-filter" data-default-limit="${m.defaultLimit}">
  ${q.status !== 'all' ? html`<input type="hidden" name="status" value="${q.status}">` : ''}
  <div class="row">
    <label>Job id <input type="search" name="id" value="${q.id ?? ''}" size="22" maxlength="128" placeholder="id or its start" autocomplete="off"></label>
    <select name="match" aria-label="how the id matches">${option('prefix', 'starts with', q.match === 'prefix')}${option('exact', 'is exactly', q.match === 'exact')}</select>
    <label>Worker <select name="worker" data-console-autosubmit>
      ${option('', 'all workers', q.worker === undefined)}
      ${workers.map((w) => option(w, w, w === q.worker))}
    </select></label>
    <label>Queue <input type="text" name="queue" value="${q.queue ?? ''}" size="12" list="queue-names" autocomplete="off" placeholder="all queues"></label>
    <datalist id="queue-names">${m.queues.map((n) => html`<option value="${n}"></option>`)}</datalist>
  </div>
  <div class="row">
    ${timeInput('enqueuedSince', 'Enqueued since')}
    ${timeInput('enqueuedUntil', 'until')}
    ${timeInput('finishedSince', 'Finished since')}
    ${timeInput('finishedUntil', 'until')}
  </div>
  <div class="row">
    <label>Sort <select name="sort" data-console-autosubmit>${option('newest', 'newest first', q.sort === 'newest')}${option('oldest', 'oldest first', q.sort === 'oldest')}</select></label>
    <label>Per page <select name="limit" data-console-autosubmit>${sizes.map((n) => option(String(n), String(n), n === q.limit))}</select></label>
    <button type="submit">Search</button>
    <a href="${href(consoleParams({ status: q.status, match: 'prefix', times: {}, sort: 'newest', limit: q.limit }, m.defaultLimit))}">Clear filters</a>
    <span class="note">Times without a zone are UTC; <code>2h</code> is two hours ago.</span>
  </div>
</form>`;
};

const tabsNav = (m: ConsoleModel): Html => {
  const q = m.query;
  const c = m.counts;
  const count = (s: ListStatus): Html =>
    c === undefined
      ? html``
      : html` <span class="count" data-tab-count="${s}">${countOf(c.counts, c.total, s)}${c.complete ? '' : '+'}</span>`;
  const tab = (s: ListStatus) =>
    html`<a href="${href(consoleParams(q, m.defaultLimit, { status: s === 'all' ? undefined : s, cursor: undefined }))}" data-tab="${s}"${q.status === s ? raw(' class="active"') : ''}>${statusLabels[s]}${count(s)}</a>`;
  return html`<nav class="tabs">${tabs.map(tab)}${tab('all')}</nav>`;
};

const bulkBar = (m: ConsoleModel, matching: number | undefined): Html => {
  if (!m.bulk) return html``;
  const q = m.query;
  const offered = actionsForStatus(q.status);
  const filter = Object.fromEntries(consoleParams({ ...q, limit: m.defaultLimit }, m.defaultLimit, { cursor: undefined }));
  const complete = m.counts?.complete !== false;
  return html`<section class="bulk" id="bulk" data-filter="${JSON.stringify(filter)}"${matching !== undefined ? html` data-matching="${matching}" data-complete="${complete ? 'true' : 'false'}"` : ''}>
  <span class="sel"><span id="selected-count" data-selected="0">0 selected</span></span>
  ${offered.map(
    (a) =>
      html`<button type="button" data-bulk-action="${a}" data-scope="selected" data-url="/api/bulk/${a}" disabled${a !== 'retry' ? raw(' class="danger"') : ''}>${actionLabels[a]} selected</button>`,
  )}
  ${
    matching !== undefined && matching > 0
      ? html`<span class="sep">·</span>${offered.map(
          (a) =>
            html`<button type="button" data-bulk-action="${a}" data-scope="matching" data-url="/api/bulk/${a}"${a !== 'retry' ? raw(' class="danger"') : ''}>${actionLabels[a]} all ${matching}${complete ? '' : '+'} matching</button>`,
        )}`
      : ''
  }
  <input id="bulk-reason" maxlength="500" placeholder="reason (cancel, purge; optional)" autocomplete="off">
  <div id="bulk-report" class="bulk-report" role="status" hidden></div>
</section>`;
};

const pager = (m: ConsoleModel): Html => {
  const q = m.query;
  const link = (cursor: string) => href(consoleParams(q, m.defaultLimit, { cursor }));
  const first =
    q.cursor !== undefined
      ? html`<a href="${href(consoleParams(q, m.defaultLimit, { cursor: undefined }))}" data-page="first">« First</a>`
      : '';
  return html`<p class="pager">
  ${first}
  ${m.prev !== undefined ? html`<a rel="prev" data-page="prev" href="${link(m.prev)}">‹ Previous</a>` : ''}
  ${m.next !== undefined ? html`<a rel="next" data-page="next" href="${link(m.next)}">Next ›</a>` : ''}
</p>`;
};

const row = (j: JobView, bulk: boolean): Html => {
  const actions = validActions(j);
  // The checkbox sits in the job's cell (no text of its own), so that the first cell's text is the job id.
  return html`<tr data-job="${j.jobId}" data-actions="${actions.join(' ')}"><td class="id">${
    bulk ? html`<input type="checkbox" class="pick-job" value="${j.jobId}" aria-label="select ${j.jobId}">` : ''
  }<a href="${jobPath(j.jobId)}">${j.jobId}</a></td><td>${j.workerName}</td><td>${j.queue}</td><td>${badge(j)}</td><td class="n">${j.attempts}/${j.attemptBase + j.maxAttempts + (j.interruptions ?? 0)}</td><td>${timeTag(j.enqueuedAt)}</td><td>${timeTag(j.updatedAt)}</td><td class="error">${
    j.lastError !== undefined && statusOf(j) !== 'completed' ? `${j.lastError.name}: ${j.lastError.message.slice(0, 200)}` : ''
  }</td></tr>`;
};

/** The console page. */
export const consolePage = (ctx: PageContext, m: ConsoleModel): string => {
  const q = m.query;
  const matching = m.counts !== undefined ? countOf(m.counts.counts, m.counts.total, q.status) : undefined;
  const title = `${statusLabels[q.status]} jobs`;
  return layout(
    { ...ctx, active: q.status },
    title,
    html`<h1>${title}${q.worker !== undefined ? html` of <code>${q.worker}</code>` : ''}${
      matching !== undefined
        ? html` <span class="note" data-matching-count="${matching}">(${matching}${m.counts?.complete === false ? '+' : ''} matching)</span>`
        : ''
    }</h1>
${tabsNav(m)}
${filterForm(m)}
${bulkBar(m, matching)}
${
  m.jobs.length === 0
    ? html`<p class="empty">No ${q.status === 'all' ? '' : statusLabels[q.status].toLowerCase() + ' '}jobs${hasFilters(q) ? ' match these filters' : ''}${q.cursor !== undefined ? ' on this page' : ''}.</p>`
    : html`<table class="grid jobs console">
<thead><tr><th class="id">${m.bulk ? html`<input type="checkbox" id="pick-all" aria-label="select every job of this page">` : ''}Job</th><th>Worker</th><th>Queue</th><th>Status</th><th class="n">Attempts</th><th>Enqueued</th><th>Updated</th><th>Last error</th></tr></thead>
<tbody>
${m.jobs.map((j) => row(j, m.bulk))}
</tbody>
</table>`
}
${pager(m)}`,
  );
};
