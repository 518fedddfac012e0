import { ago, concurrencyText, statusText, type ProcessSummary } from '../processes/index.js';
import { html } from './html.js';
import { layout, type PageContext } from './pages.js';
import { jobPath } from './routes.js';

const badgeClass = { running: 'st-completed', stopped: 'st-cancelled', gone: 'st-failed' } as const;

const recovered = (p: ProcessSummary) =>
  p.recovered.length === 0
    ? ''
    : html`<div class="note" data-field="recovered">${p.recovered.map(
        (r, i) => html`${i > 0 ? ', ' : ''}<a href="${jobPath(r.jobId)}">${r.jobId}</a> #${String(r.attempt)}`,
      )} recorded as WorkerLost by <code>${p.recovered[0]!.by.replace(/^sweep:/, '')}</code></div>`;

/**
 * The Processes page (Hangfire's Servers page): every `jobtrail run` process from its heartbeats, running, stopped or
 * gone, with when it was last seen, what it runs, and for a gone one whether its attempts were recovered.
 */
export const processesPage = (
  ctx: PageContext,
  processes: readonly ProcessSummary[] | undefined,
  o: { readonly all: boolean; readonly now: number },
): string =>
  layout(
    // 'processes' is this page's nav entry (pages.ts compares it as text).
    { ...ctx, active: 'processes' as unknown as PageContext['active'] },
    'Processes',
    html`<h1>Processes</h1>
<p class="note">Every <code>jobtrail run</code> process records a heartbeat in the store; one not seen for 6 of its heartbeat intervals is gone, and the sweep of another process records its running attempts as WorkerLost and retries them. ${
      o.all
        ? html`Showing every process kept (7 days). <a href="/processes">Only running and recent ones</a>`
        : html`Showing running processes and those stopped or gone lately. <a href="/processes?all=1">All, including older ones</a>`
    }</p>
${
  processes === undefined
    ? html`<p class="problem">This engine offers no process list.</p>`
    : processes.length === 0
      ? html`<p class="empty">No processes${o.all ? '' : ' running or seen lately'}.</p>`
      : html`<table class="grid processes">
<thead><tr><th>Process</th><th>Status</th><th>Last seen</th><th>Jobs running</th><th>Queues</th><th>Workers × concurrency</th><th>Version</th><th>Started</th></tr></thead>
<tbody>
${processes.map(
  (p) => html`<tr data-process-row="${p.processId}" data-status="${p.status}">
<td><code>${p.processId}</code><div class="note">${p.host ?? '?'} pid ${p.pid === undefined ? '?' : String(p.pid)}</div></td>
<td><span class="badge ${badgeClass[p.status]}" data-field="status">${statusText(p)}</span>${recovered(p)}</td>
<td data-field="last-seen"><time datetime="${p.lastSeenAt ?? ''}" title="${p.lastSeenAt ?? ''}">${ago(p.lastSeenAt, o.now)}</time></td>
<td data-field="running">${p.running === undefined ? '?' : String(p.running)}</td>
<td data-field="queues">${p.queues === undefined ? '?' : p.queues.join(', ')}</td>
<td data-field="workers">${concurrencyText(p)}</td>
<td data-field="version">${p.version ?? '?'}</td>
<td data-field="started">${p.startedAt === undefined ? '?' : html`<time datetime="${p.startedAt}" title="${p.startedAt}">${ago(p.startedAt, o.now)}</time>`}</td>
</tr>`,
)}
</tbody>
</table>`
}`,
  );
