import { timeTag } from './timeTag.js';
import type { QueueInfo } from '../queues/index.js';
import { html } from './html.js';
import { layout, type PageContext } from './pages.js';
import { queueActionPath, type QueueAction } from './routes.js';

const actionButton = (q: QueueInfo, action: QueueAction, label: string, title: string) =>
  html`<button type="button" data-queue-action="${action}" data-queue="${q.name}" data-url="${queueActionPath(q.name, action)}" title="${title}">${label}</button>`;

const count = (n: number | undefined) => (n === undefined ? html`<span class="note" title="not known in this mode">?</span>` : String(n));

const state = (q: QueueInfo) =>
  q.paused
    ? html`<span class="badge st-paused" data-field="state">paused</span> <span class="note" data-field="paused-by">${
        q.pausedBy !== undefined ? `by ${q.pausedBy}` : ''
      }${q.pausedAt !== undefined ? html` since ${timeTag(q.pausedAt)}` : ''}${q.pauseReason !== undefined ? `: ${q.pauseReason}` : ''}</span>`
    : q.noConsumer
      ? html`<span class="badge st-failed" data-field="state" title="Jobs sent to it wait until a process that runs its worker starts">no consumer</span>`
      : html`<span class="badge st-completed" data-field="state">running</span>`;

/** The Queues page: every known queue, paused or not, its depth and consumers where known, and Pause / Resume. */
export const queuesPage = (ctx: PageContext, queues: readonly QueueInfo[] | undefined): string =>
  layout(
    { ...ctx, active: 'queues' },
    'Queues',
    html`<h1>Queues</h1>
${
  queues === undefined
    ? html`<p class="problem">This engine offers no queues.</p>`
    : queues.length === 0
      ? html`<p class="empty">No queues known yet.</p>`
      : html`<p class="note">Pausing a queue stops every process taking work from it within a second; enqueues still succeed and wait, running jobs finish.</p>
<label class="reason">reason <input id="queue-reason" name="reason" maxlength="500" autocomplete="off" placeholder="why (recorded)"></label>
<table class="grid queues">
<thead><tr><th>Queue</th><th>State</th><th>Depth</th><th>Consumers</th><th>Workers here</th><th>Actions</th></tr></thead>
<tbody>
${queues.map(
  (q) => html`<tr data-queue-row="${q.name}">
<td><code>${q.name}</code></td>
<td>${state(q)}</td>
<td data-field="depth">${count(q.depth)}</td>
<td data-field="consumers">${count(q.consumers)}</td>
<td>${q.workers.length > 0 ? q.workers.join(', ') : '—'}</td>
<td class="actions">${
    q.paused
      ? actionButton(q, 'resume', 'Resume', 'Every process that runs its workers takes work from it again')
      : actionButton(q, 'pause', 'Pause', 'Every process stops taking work from it within a second')
  }</td>
</tr>`,
)}
</tbody>
</table>`
}
<p id="action-result" class="result" role="status" hidden></p>`,
  );
