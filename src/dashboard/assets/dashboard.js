// jobtrail dashboard: live updates through server-sent events (no polling),
// the retry and cancel actions, and the "acting as" name. The server renders
// every piece of markup (escaped there); this file only puts it in place.
(function () {
  'use strict';

  var csrfMeta = document.querySelector('meta[name="jobtrail-csrf"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute('content') : '';
  var live = document.getElementById('live');

  // Who acts: a name kept in localStorage, "dashboard" by default.
  var byInput = document.getElementById('by');
  var byKey = 'jobtrail.by';
  var storedBy = null;
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
  var actor = function () {
    return (byInput && byInput.value.trim()) || 'dashboard';
  };

  var setLive = function (text, state) {
    if (!live) return;
    live.hidden = false;
    live.textContent = text;
    live.setAttribute('data-state', state);
  };

  // Live updates.
  var feed = document.body.getAttribute('data-feed');
  if (feed && window.EventSource) {
    var source = new EventSource(feed);
    source.addEventListener('open', function () {
      setLive('live', 'open');
    });
    source.addEventListener('error', function () {
      setLive(source.readyState === EventSource.CLOSED ? 'disconnected — reload' : 'reconnecting…', 'error');
    });
    source.addEventListener('sections', function (ev) {
      var data = JSON.parse(ev.data);
      Object.keys(data.sections).forEach(function (name) {
        var el = document.querySelector('[data-section="' + name + '"]');
        if (el) el.innerHTML = data.sections[name];
      });
    });
    source.addEventListener('job-event', function (ev) {
      var data = JSON.parse(ev.data);
      var timeline = document.getElementById('timeline');
      if (timeline && !timeline.querySelector('tr[data-revision="' + data.revision + '"]')) {
        timeline.insertAdjacentHTML('beforeend', data.row);
        var row = timeline.lastElementChild;
        if (row) row.classList.add('fresh');
      }
      var view = document.querySelector('[data-section="view"]');
      if (view) view.innerHTML = data.view;
    });
    source.addEventListener('problem', function (ev) {
      setLive(JSON.parse(ev.data).message, 'error');
      source.close();
    });
  }

  // The worker filter submits itself.
  document.querySelectorAll('select[data-autosubmit]').forEach(function (select) {
    select.addEventListener('change', function () {
      if (select.form) select.form.submit();
    });
  });

  // Retry and cancel: confirm, post, show the outcome (the state machine's reason when refused).
  var result = document.getElementById('action-result');
  var show = function (text, ok) {
    if (!result) return;
    result.hidden = false;
    result.textContent = text;
    result.className = 'result ' + (ok ? 'ok' : 'refused');
  };
  document.addEventListener('click', function (ev) {
    var button = ev.target instanceof Element ? ev.target.closest('button[data-action]') : null;
    if (!button) return;
    var action = button.getAttribute('data-action');
    var url = button.getAttribute('data-url');
    var section = button.closest('[data-job]');
    var jobId = section ? section.getAttribute('data-job') : '';
    var by = actor();
    var reasonInput = document.getElementById('reason');
    var reason = action === 'cancel' && reasonInput ? reasonInput.value.trim() : '';
    var question =
      action === 'retry'
        ? 'Retry job ' + jobId + ' as "' + by + '"? It goes back to initial with a fresh budget of attempts and is dispatched again.'
        : 'Cancel job ' + jobId + ' as "' + by + '"?';
    if (!window.confirm(question)) return;
    button.disabled = true;
    var body = { by: by };
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
            if (data.ok)
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
