import { timeTag } from './timeTag.js';
import type { ScheduleInfo } from '../schedules/index.js';
import { html } from './html.js';
import { layout, type PageContext } from './pages.js';
import { jobPath, scheduleActionPath, type ScheduleAction } from './routes.js';

const actionButton = (s: ScheduleInfo, action: ScheduleAction, label: string, title: string, danger = false) =>
  html`<button type="button" data-schedule-action="${action}" data-schedule="${s.scheduleId}" data-url="${scheduleActionPath(s.scheduleId, action)}"${danger ? html` class="danger"` : ''} title="${title}">${label}</button>`;

/** The Recurring page: every schedule with its cron, zone, next and last runs (linked to the job), and its actions. */
export const schedulesPage = (ctx: PageContext, schedules: readonly ScheduleInfo[] | undefined): string =>
  layout(
    { ...ctx, active: 'schedules' },
    'Recurring',
    html`<h1>Recurring jobs</h1>
${
  schedules === undefined
    ? html`<p class="problem">This engine offers no schedules.</p>`
    : schedules.length === 0
      ? html`<p class="empty">No schedules. Set one with <code>jobtrail schedule set</code> or <code>engine.upsertSchedule</code>.</p>`
      : html`<table class="grid schedules">
<thead><tr><th>Schedule</th><th>Cron</th><th>Time zone</th><th>Worker</th><th>Status</th><th>Next run</th><th>Last run</th><th>Actions</th></tr></thead>
<tbody>
${schedules.map(
  (s) => html`<tr data-schedule-row="${s.scheduleId}">
<td><code>${s.scheduleId}</code></td>
<td><code>${s.cron}</code></td>
<td>${s.timezone}</td>
<td>${s.workerName}</td>
<td><span class="badge" data-field="status">${s.status}</span>${s.skippedTicks > 0 ? html` <span class="note">${s.skippedTicks} skipped</span>` : ''}</td>
<td data-field="next">${s.nextFireTime !== undefined ? timeTag(s.nextFireTime) : '—'}</td>
<td data-field="last">${
    s.lastJobId !== undefined
      ? html`<a href="${jobPath(s.lastJobId)}">${s.lastFireTime !== undefined ? timeTag(s.lastFireTime) : ''}</a> <span class="note" data-field="last-status">${s.lastJobStatus ?? ''}</span>`
      : '—'
  }</td>
<td class="actions">
  ${actionButton(s, 'trigger', 'Trigger now', 'Run it once now, outside its cron')}
  ${s.status === 'active' ? actionButton(s, 'pause', 'Pause', 'No runs until resumed') : actionButton(s, 'resume', 'Resume', 'Runs again from its next tick')}
  ${actionButton(s, 'remove', 'Remove', 'No more runs (its stream stays)', true)}
</td>
</tr>`,
)}
</tbody>
</table>`
}
<p id="action-result" class="result" role="status" hidden></p>`,
  );
