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
    fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-Jobtrail-Csrf': csrf },
      body: JSON.stringify(body),
    })
      .then(function (res) {
        return res.json().catch(function () {
          return { ok: false, error: 'HTTP ' + res.status };
        });
      })
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
    fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-Jobtrail-Csrf': csrf },
      body: JSON.stringify(body),
    })
      .then(function (res) {
        return res
          .json()
          .catch(function () {
            return { ok: false, error: 'HTTP ' + res.status };
          })
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
          });
      })
      .catch(function (err) {
        show('Could not reach the dashboard: ' + err.message, false);
      })
      .then(function () {
        button.disabled = false;
      });
  });
})();
