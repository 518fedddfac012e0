// @ts-check
// jobtrail dashboard: live updates through server-sent events (no polling),
// the retry and cancel actions, and the "acting as" name. The server renders
// every piece of markup (escaped there); this file only puts it in place.
(function () {
  'use strict';

  const csrfMeta = document.querySelector('meta[name="jobtrail-csrf"]');
  // The server renders the CSRF meta with its content, on the pages that can act.
  const csrf = /** @type {string} */ (csrfMeta ? csrfMeta.getAttribute('content') : '');
  const live = document.getElementById('live');

  // Who acts: a name kept in localStorage, "dashboard" by default.
  const byInput = /** @type {HTMLInputElement | null} */ (document.getElementById('by'));
  const byKey = 'jobtrail.by';
  let storedBy = null;
  try {
    storedBy = window.localStorage.getItem(byKey);
  } catch {
    storedBy = null;
  }
  if (byInput) {
    byInput.value = storedBy || 'dashboard';
    byInput.addEventListener('input', function () {
      try {
        window.localStorage.setItem(byKey, byInput.value.trim() || 'dashboard');
      } catch {
        /* private mode: the name lasts for this page only */
      }
    });
  }
  const actor = function () {
    return (byInput && byInput.value.trim()) || 'dashboard';
  };

  /**
   * @param {string} text
   * @param {string} state
   */
  const setLive = function (text, state) {
    if (!live) return;
    live.hidden = false;
    live.textContent = text;
    live.setAttribute('data-state', state);
  };

  // Live updates.
  const feed = document.body.getAttribute('data-feed');
  if (feed && window.EventSource) {
    const source = new EventSource(feed);
    source.addEventListener('open', function () {
      setLive('live', 'open');
    });
    source.addEventListener('error', function () {
      setLive(source.readyState === EventSource.CLOSED ? 'disconnected — reload' : 'reconnecting…', 'error');
    });
    source.addEventListener('sections', function (ev) {
      const data = JSON.parse(ev.data);
      Object.keys(data.sections).forEach(function (name) {
        const el = document.querySelector('[data-section="' + name + '"]');
        if (el) el.innerHTML = data.sections[name];
      });
    });
    source.addEventListener('job-event', function (ev) {
      const data = JSON.parse(ev.data);
      const timeline = document.getElementById('timeline');
      if (timeline && !timeline.querySelector('tr[data-revision="' + data.revision + '"]')) {
        timeline.insertAdjacentHTML('beforeend', data.row);
        const row = timeline.lastElementChild;
        if (row) row.classList.add('fresh');
      }
      const view = document.querySelector('[data-section="view"]');
      if (view) view.innerHTML = data.view;
    });
    source.addEventListener('problem', function (ev) {
      setLive(JSON.parse(ev.data).message, 'error');
      source.close();
    });
  }

  // The worker filter submits itself.
  /** @type {NodeListOf<HTMLSelectElement>} */ (document.querySelectorAll('select[data-autosubmit]')).forEach(function (select) {
    select.addEventListener('change', function () {
      if (select.form) select.form.submit();
    });
  });

  /**
   * Posts `body` as JSON with the page's CSRF token; resolves to the answer's JSON, or `{ ok: false, error }` when the
   * answer is not JSON.
   * @param {string} url
   * @param {unknown} body
   * @returns {Promise<any>}
   */
  const postJson = function (url, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-Jobtrail-Csrf': csrf },
      body: JSON.stringify(body),
    }).then(function (res) {
      return res.json().catch(function () {
        return { ok: false, error: 'HTTP ' + res.status };
      });
    });
  };
  // Retry and cancel: confirm, post, show the outcome (the state machine's reason when refused).
  const result = document.getElementById('action-result');
  /**
   * @param {string} text
   * @param {boolean} ok
   */
  const show = function (text, ok) {
    if (!result) return;
    result.hidden = false;
    result.textContent = text;
    result.className = 'result ' + (ok ? 'ok' : 'refused');
  };
  /**
   * The Recurring and Queues pages' actions: post, then show the page again with the outcome, kept for the reload
   * under `key` in sessionStorage.
   * @param {HTMLButtonElement} button
   * @param {string} url
   * @param {Record<string, string>} body
   * @param {string} key
   * @param {(data: any) => string} noteOf
   */
  const postThenReload = function (button, url, body, key, noteOf) {
    button.disabled = true;
    postJson(url, body)
      .then(function (data) {
        if (!data.ok) return show('Refused: ' + data.error, false);
        try {
          window.sessionStorage.setItem(key, noteOf(data));
        } catch {
          /* private mode: the page reloads without the note */
        }
        window.location.reload();
      })
      .catch(function (err) {
        show('Could not reach the dashboard: ' + err.message, false);
      })
      .then(function () {
        button.disabled = false;
      });
  };
  for (const key of ['jobtrail.scheduleResult', 'jobtrail.queueResult'])
    try {
      const note = window.sessionStorage.getItem(key);
      if (note) {
        window.sessionStorage.removeItem(key);
        show(note, true);
      }
    } catch {
      /* private mode */
    }

  // The Recurring page's actions: confirm, post, then show the page again with the outcome.
  document.addEventListener('click', function (ev) {
    const button = /** @type {HTMLButtonElement | null} */ (
      ev.target instanceof Element ? ev.target.closest('button[data-schedule-action]') : null
    );
    if (!button) return;
    const action = /** @type {string} */ (button.getAttribute('data-schedule-action'));
    const url = /** @type {string} */ (button.getAttribute('data-url'));
    const id = button.getAttribute('data-schedule') || '';
    const by = actor();
    if (!window.confirm(action.charAt(0).toUpperCase() + action.slice(1) + ' schedule ' + id + ' as "' + by + '"?')) return;
    postThenReload(button, url, { by: by }, 'jobtrail.scheduleResult', function (data) {
      const note = action === 'trigger' ? 'triggered: job ' + data.jobId : action === 'remove' ? 'removed' : action + 'd';
      return id + ' ' + note + ' by ' + by + '.';
    });
  });

  // The Queues page's pause and resume: confirm, post with the reason, then show the page again with the outcome.
  document.addEventListener('click', function (ev) {
    const button = /** @type {HTMLButtonElement | null} */ (
      ev.target instanceof Element ? ev.target.closest('button[data-queue-action]') : null
    );
    if (!button) return;
    const action = /** @type {string} */ (button.getAttribute('data-queue-action'));
    const url = /** @type {string} */ (button.getAttribute('data-url'));
    const queue = button.getAttribute('data-queue') || '';
    const by = actor();
    const reasonInput = /** @type {HTMLInputElement | null} */ (document.getElementById('queue-reason'));
    const reason = reasonInput ? reasonInput.value.trim() : '';
    if (!window.confirm(action.charAt(0).toUpperCase() + action.slice(1) + ' queue ' + queue + ' as "' + by + '"?')) return;
    /** @type {Record<string, string>} */
    const body = { by: by };
    if (reason) body.reason = reason;
    postThenReload(button, url, body, 'jobtrail.queueResult', function (data) {
      const note = data.changed ? (action === 'pause' ? 'paused' : 'resumed') : 'was ' + (data.paused ? 'paused' : 'running') + ' already';
      return 'Queue ' + queue + ' ' + note + ' by ' + by + '.';
    });
  });

  document.addEventListener('click', function (ev) {
    const button = /** @type {HTMLButtonElement | null} */ (ev.target instanceof Element ? ev.target.closest('button[data-action]') : null);
    if (!button) return;
    const action = button.getAttribute('data-action');
    // Every action button is rendered with its URL.
    const url = /** @type {string} */ (button.getAttribute('data-url'));
    const section = button.closest('[data-job]');
    const jobId = section ? section.getAttribute('data-job') : '';
    const by = actor();
    const reasonInput = /** @type {HTMLInputElement | null} */ (document.getElementById('reason'));
    const reason = (action === 'cancel' || action === 'purge') && reasonInput ? reasonInput.value.trim() : '';
    const question =
      action === 'retry'
        ? 'Retry job ' + jobId + ' as "' + by + '"? It goes back to initial with a fresh budget of attempts and is dispatched again.'
        : action === 'purge'
          ? 'Purge job ' + jobId + ' as "' + by + '"? It and its history are deleted for good.'
          : 'Cancel job ' + jobId + ' as "' + by + '"?';
    if (!window.confirm(question)) return;
    button.disabled = true;
    /** @type {{ by: string, reason?: string }} */
    const body = { by: by };
    if (reason) body.reason = reason;
    postJson(url, body)
      .then(function (data) {
        if (data.ok && action === 'purge') show('Purged by ' + by + ': the job and its history are deleted.', true);
        // A running job: the request is recorded; the process running it aborts the action.
        else if (data.ok && action === 'cancel' && data.job.status === 'in_progress' && data.job.cancelRequested)
          show(
            'Cancel requested by ' +
              by +
              ': attempt ' +
              data.job.cancelRequested.attempt +
              ' is being aborted; the job ends cancelled when its action returns.',
            true,
          );
        else if (data.ok)
          show(
            (action === 'retry' ? 'Retried' : 'Cancelled') + ' by ' + by + ': the job is ' + data.job.status.replace('_', ' ') + '.',
            true,
          );
        else show('Refused: ' + data.error, false);
      })
      .catch(function (err) {
        show('Could not reach the dashboard: ' + err.message, false);
      })
      .then(function () {
        button.disabled = false;
      });
  });
  // ---- The console (docs/dashboard.md): times in the browser's zone, the job page's valid actions, bulk actions.

  // Times: the server renders <time datetime="<ISO>" title="<exact UTC>">…UTC</time>; here they read in the
  // browser's zone with a relative time ("3 min ago"), the exact UTC staying on hover. A <time> without datetime
  // (a page that does not use the helper yet) is read from its text when that is an ISO time.
  const dateFormat = window.Intl ? new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' }) : null;
  const relativeFormat =
    window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' }) : null;
  /** @param {number} ms */
  const relative = function (ms) {
    if (!relativeFormat) return '';
    const seconds = Math.round((ms - Date.now()) / 1000);
    const abs = Math.abs(seconds);
    /** @type {[number, Intl.RelativeTimeFormatUnit][]} */
    const steps = [
      [60, 'second'],
      [3600, 'minute'],
      [86400, 'hour'],
      [86400 * 30, 'day'],
      [86400 * 365, 'month'],
    ];
    // Under a second either way (a time just written, read a moment later): "now", never "in 1 sec.".
    if (abs < 1) return relativeFormat.format(0, 'second');
    if (abs < 45) return relativeFormat.format(seconds < 0 ? -Math.max(abs, 1) : Math.max(abs, 1), 'second');
    let unit = /** @type {Intl.RelativeTimeFormatUnit} */ ('year');
    let size = 86400 * 365;
    /** @type {Record<string, number>} */
    const divisors = { second: 1, minute: 60, hour: 3600, day: 86400, month: 86400 * 30, year: 86400 * 365 };
    for (const [limit, u] of steps)
      if (abs < limit) {
        unit = u;
        size = divisors[u];
        break;
      }
    return relativeFormat.format(Math.round(seconds / size), unit);
  };
  /** @param {Element} el */
  const enhanceTime = function (el) {
    let iso = el.getAttribute('datetime');
    if (!iso) {
      const text = (el.textContent || '').trim();
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) return;
      iso = text;
      el.setAttribute('datetime', iso);
    }
    const ms = Date.parse(iso);
    if (Number.isNaN(ms)) return;
    if (!el.getAttribute('title')) el.setAttribute('title', new Date(ms).toISOString().replace('T', ' ').replace('Z', '') + ' UTC');
    const local = dateFormat ? dateFormat.format(new Date(ms)) : new Date(ms).toString();
    const rel = relative(ms);
    el.textContent = rel ? local + ' · ' + rel : local;
    el.setAttribute('data-local', 'true');
  };
  const enhanceTimes = function (/** @type {ParentNode} */ root) {
    root.querySelectorAll('time').forEach(enhanceTime);
  };
  enhanceTimes(document);
  // Live updates put new markup in: enhance its times too; and keep the relative times current.
  if (window.MutationObserver)
    new MutationObserver(function (records) {
      for (const r of records)
        r.addedNodes.forEach(function (n) {
          if (n instanceof Element) {
            if (n.matches('time')) enhanceTime(n);
            else enhanceTimes(n);
          }
        });
    }).observe(document.body, { childList: true, subtree: true });
  window.setInterval(function () {
    document.querySelectorAll('time[data-local]').forEach(enhanceTime);
  }, 30_000);

  // The job page: show only the actions valid in the job's state as it changes live (the server's rule, validActions).
  const actionsSection = document.querySelector('section.actions[data-job]');
  const viewSection = document.querySelector('[data-section="view"]');
  if (actionsSection && viewSection) {
    const syncActions = function () {
      const badge = viewSection.querySelector('[data-field="status"] [data-status]');
      if (!badge) return;
      const status = badge.getAttribute('data-status');
      const cancelRequested = !!viewSection.querySelector('[data-field="cancelRequested"]');
      const valid = {
        retry: status === 'failed' || status === 'cancelled',
        cancel:
          status === 'initial' || status === 'awaiting' || status === 'awaiting_retry' || (status === 'in_progress' && !cancelRequested),
        purge: status === 'failed' || status === 'cancelled' || status === 'completed',
      };
      let any = false;
      actionsSection.querySelectorAll('button[data-action]').forEach(function (b) {
        const ok = /** @type {Record<string, boolean>} */ (valid)[b.getAttribute('data-action') || ''] === true;
        /** @type {HTMLElement} */ (b).hidden = !ok;
        any = any || ok;
      });
      const reasonBox = /** @type {HTMLElement | null} */ (actionsSection.querySelector('#reason'));
      if (reasonBox) reasonBox.hidden = !(valid.cancel || valid.purge);
      const none = /** @type {HTMLElement | null} */ (actionsSection.querySelector('[data-no-actions]'));
      if (none) none.hidden = any;
    };
    if (window.MutationObserver) new MutationObserver(syncActions).observe(viewSection, { childList: true, subtree: true });
  }

  // The console's form: a select submits it; the URL keeps only the parameters that are set and not the default.
  const consoleForm = /** @type {HTMLFormElement | null} */ (document.getElementById('console-filter'));
  if (consoleForm) {
    consoleForm.querySelectorAll('select[data-console-autosubmit]').forEach(function (select) {
      select.addEventListener('change', function () {
        consoleForm.requestSubmit();
      });
    });
    consoleForm.addEventListener('submit', function (ev) {
      ev.preventDefault();
      const params = new URLSearchParams();
      const defaults = { match: 'prefix', sort: 'newest', limit: consoleForm.getAttribute('data-default-limit') || '' };
      new FormData(consoleForm).forEach(function (value, name) {
        const v = String(value).trim();
        if (v === '' || /** @type {Record<string, string>} */ (defaults)[name] === v) return;
        if (name === 'match' && !params.has('id')) return;
        params.append(name, v);
      });
      const query = params.toString();
      window.location.assign('/jobs' + (query ? '?' + query : ''));
    });
  }

  // The list: select jobs, then act on the selection or on every job matching the filter: one confirmation naming
  // how many, then each job's outcome (done, or refused with the reason).
  const bulk = document.getElementById('bulk');
  if (bulk) {
    const picks = function () {
      return /** @type {HTMLInputElement[]} */ (Array.from(document.querySelectorAll('input.pick-job')));
    };
    const pickAll = /** @type {HTMLInputElement | null} */ (document.getElementById('pick-all'));
    const selectedCount = document.getElementById('selected-count');
    const report = /** @type {HTMLElement} */ (document.getElementById('bulk-report'));
    const refresh = function () {
      const chosen = picks().filter(function (p) {
        return p.checked;
      });
      if (selectedCount) {
        selectedCount.textContent = chosen.length + ' selected';
        selectedCount.setAttribute('data-selected', String(chosen.length));
      }
      // A selection button is enabled when at least one selected job allows its action.
      bulk.querySelectorAll('button[data-scope="selected"]').forEach(function (b) {
        const action = b.getAttribute('data-bulk-action') || '';
        /** @type {HTMLButtonElement} */ (b).disabled = !chosen.some(function (p) {
          const tr = p.closest('tr');
          return !!tr && (tr.getAttribute('data-actions') || '').split(' ').indexOf(action) >= 0;
        });
      });
      if (pickAll) {
        const all = picks();
        pickAll.checked = all.length > 0 && chosen.length === all.length;
        pickAll.indeterminate = chosen.length > 0 && chosen.length < all.length;
      }
    };
    document.addEventListener('change', function (ev) {
      const t = ev.target;
      if (t === pickAll && pickAll)
        picks().forEach(function (p) {
          p.checked = pickAll.checked;
        });
      if (t instanceof HTMLInputElement && (t === pickAll || t.classList.contains('pick-job'))) refresh();
    });
    refresh();

    /**
     * @param {string} action
     * @param {any} data
     */
    const showReport = function (action, data) {
      report.hidden = false;
      report.replaceChildren();
      const head = document.createElement('p');
      const verb = { retry: 'Retried', cancel: 'Cancelled (a running job: cancel requested)', purge: 'Purged' }[action] || action;
      head.textContent = verb + ': ' + data.done + ' done, ' + data.refused + ' refused.';
      head.className = 'result ' + (data.refused === 0 ? 'ok' : 'refused');
      head.setAttribute('data-bulk-summary', action);
      report.appendChild(head);
      if (data.outcomes.length === 0) return;
      const table = document.createElement('table');
      table.className = 'grid bulk-outcomes';
      const body = document.createElement('tbody');
      for (const o of data.outcomes) {
        const tr = document.createElement('tr');
        tr.setAttribute('data-outcome-job', o.jobId);
        tr.setAttribute('data-outcome', o.outcome);
        const id = document.createElement('td');
        id.textContent = o.jobId;
        const what = document.createElement('td');
        what.textContent = o.outcome === 'done' ? o.done : 'refused';
        what.className = o.outcome === 'done' ? 'ok' : 'error';
        const why = document.createElement('td');
        why.textContent = o.reason || '';
        tr.append(id, what, why);
        body.appendChild(tr);
      }
      table.appendChild(body);
      report.appendChild(table);
      const again = document.createElement('a');
      again.href = window.location.href;
      again.textContent = 'Reload the list';
      report.appendChild(again);
    };

    bulk.addEventListener('click', function (ev) {
      const button = /** @type {HTMLButtonElement | null} */ (
        ev.target instanceof Element ? ev.target.closest('button[data-bulk-action]') : null
      );
      if (!button) return;
      const action = button.getAttribute('data-bulk-action') || '';
      const url = /** @type {string} */ (button.getAttribute('data-url'));
      const by = actor();
      const reasonInput = /** @type {HTMLInputElement | null} */ (document.getElementById('bulk-reason'));
      const reason = action !== 'retry' && reasonInput ? reasonInput.value.trim() : '';
      /** @type {Record<string, unknown>} */
      const body = { by: by };
      if (reason) body.reason = reason;
      let question;
      const what = { retry: 'Retry', cancel: 'Cancel', purge: 'Purge' }[action] || action;
      const after = action === 'purge' ? ' They and their histories are deleted for good.' : '';
      if (button.getAttribute('data-scope') === 'selected') {
        const ids = picks()
          .filter(function (p) {
            return p.checked;
          })
          .map(function (p) {
            return p.value;
          });
        if (ids.length === 0) return;
        body.jobIds = ids;
        question = what + ' ' + ids.length + ' selected job' + (ids.length === 1 ? '' : 's') + ' as "' + by + '"?' + after;
      } else {
        const n = Number(bulk.getAttribute('data-matching'));
        const complete = bulk.getAttribute('data-complete') !== 'false';
        body.filter = JSON.parse(bulk.getAttribute('data-filter') || '{}');
        body.expected = n;
        if (!complete) body.atLeast = true;
        question =
          what + (complete ? ' all ' : ' at least ') + n + ' job' + (n === 1 ? '' : 's') + ' matching this filter as "' + by + '"?' + after;
      }
      if (!window.confirm(question)) return;
      bulk.querySelectorAll('button').forEach(function (b) {
        b.disabled = true;
      });
      postJson(url, body)
        .then(function (data) {
          if (data.ok) showReport(action, data);
          else {
            report.hidden = false;
            report.replaceChildren();
            const p = document.createElement('p');
            p.className = 'result refused';
            p.textContent = 'Refused: ' + data.error;
            report.appendChild(p);
          }
        })
        .catch(function (err) {
          report.hidden = false;
          report.textContent = 'Could not reach the dashboard: ' + err.message;
        })
        .then(function () {
          bulk.querySelectorAll('button[data-scope="matching"]').forEach(function (b) {
            /** @type {HTMLButtonElement} */ (b).disabled = false;
          });
          refresh();
        });
    });
  }
})();
