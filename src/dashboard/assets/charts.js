// @ts-check
// jobtrail dashboard: the overview's throughput history, drawn in plain SVG
// from /api/throughput (the job-throughput projection's per-minute and
// per-hour counts). Outcomes are stacked bars (completed, errored with a
// retry, failed for good, cancelled), enqueued is a line; axes with tick
// labels in the browser's time zone, a legend with each range's totals.
// Redrawn when the overview's live feed replaces a section (at most every
// 2 s), and every minute in any case.
(function () {
  'use strict';

  const root = document.querySelector('[data-throughput-history]');
  if (!root) return;
  const src = root.getAttribute('data-src') || '/api/throughput';
  const status = root.querySelector('[data-tp-status]');
  const svgNs = 'http://www.w3.org/2000/svg';

  /** @typedef {{ at: string, enqueued: number, completed: number, failed: number, errored: number, cancelled: number }} Bucket */
  /** @typedef {{ range: string, from: string, to: string, stepMs: number, buckets: Bucket[], totals: Record<string, number> }} Series */
  /** @typedef {{ now: string, kinds: string[], ranges: Record<string, Series>, unreadable: Record<string, number> }} History */

  /** Stacked from the bottom up, then the enqueued line. */
  const stacked = ['completed', 'errored', 'failed', 'cancelled'];
  /** @type {Record<string, string>} */
  const labels = {
    enqueued: 'Enqueued',
    completed: 'Completed',
    errored: 'Errored (will retry)',
    failed: 'Failed',
    cancelled: 'Cancelled',
  };
  const legendOrder = ['enqueued', 'completed', 'errored', 'failed', 'cancelled'];
  /** Minutes between x-axis ticks, by range. */
  /** @type {Record<string, number>} */
  const tickEvery = { hour: 10, day: 180, week: 1440 };
  /** @type {Record<string, string>} */
  const unitOf = { hour: 'per minute', day: 'per 15 min', week: 'per hour' };

  const H = 190;
  const left = 40;
  const right = 12;
  const top = 20;
  const bottom = 26;
  const ph = H - top - bottom;
  /** The last answer, to draw again at a new width. @type {History | undefined} */
  let shown;

  /**
   * @param {string} name
   * @param {Record<string, string | number>} attrs
   * @param {string} [text]
   */
  const el = function (name, attrs, text) {
    const e = document.createElementNS(svgNs, name);
    Object.keys(attrs).forEach(function (k) {
      e.setAttribute(k, String(attrs[k]));
    });
    if (text !== undefined) e.textContent = text;
    return e;
  };

  /** @param {number} n */
  const pad = function (n) {
    return String(n).padStart(2, '0');
  };
  /** @param {Date} d */
  const clock = function (d) {
    return pad(d.getHours()) + ':' + pad(d.getMinutes());
  };
  /** @param {Date} d */
  const dayLabel = function (d) {
    return d.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric' });
  };

  /** A round step for about `target` ticks up to `max` (1, 2 or 5 × 10^k, whole numbers). @param {number} max @param {number} target */
  const niceStep = function (max, target) {
    const raw = Math.max(1, max / target);
    const pow = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / pow;
    return Math.max(1, (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * pow);
  };

  /** @param {Bucket} b */
  const outcomes = function (b) {
    return b.completed + b.errored + b.failed + b.cancelled;
  };

  /**
   * @param {Element} figure
   * @param {Series} series
   */
  const draw = function (figure, series) {
    const plot = figure.querySelector('.tp-plot');
    if (!plot) return;
    // Drawn at the plot's width in pixels, so that the text is never scaled.
    const W = Math.max(300, Math.round(plot.clientWidth));
    const pw = W - left - right;
    const range = series.range;
    const buckets = series.buckets;
    const n = buckets.length;
    const bw = pw / n;
    let peak = 0;
    buckets.forEach(function (b) {
      peak = Math.max(peak, outcomes(b), b.enqueued);
    });
    const step = niceStep(peak, 4);
    const yMax = Math.max(step, Math.ceil(peak / step) * step);
    /** @param {number} v */
    const y = function (v) {
      return top + ph - (v / yMax) * ph;
    };

    const svg = el('svg', {
      class: 'tp-svg',
      viewBox: '0 0 ' + W + ' ' + H,
      role: 'img',
      'aria-label':
        labels.completed +
        ' ' +
        series.totals.completed +
        ', ' +
        labels.failed +
        ' ' +
        series.totals.failed +
        ' ' +
        unitOf[range] +
        ' bars',
    });

    // The y axis: grid lines and counts.
    const yAxis = el('g', { class: 'tp-axis tp-y' });
    for (let v = 0; v <= yMax; v += step) {
      yAxis.appendChild(el('line', { x1: left, x2: W - right, y1: y(v), y2: y(v), class: v === 0 ? 'tp-base' : 'tp-grid' }));
      yAxis.appendChild(el('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end', 'data-tick': v }, String(v)));
    }
    yAxis.appendChild(el('text', { x: 4, y: top - 8, 'text-anchor': 'start', class: 'tp-unit' }, unitOf[range] || ''));
    svg.appendChild(yAxis);

    // The x axis: a tick where a round local time falls in a bucket (10 min, 3 h, midnight).
    const xAxis = el('g', { class: 'tp-axis tp-x' });
    const every = tickEvery[range] || 60;
    const stepMin = series.stepMs / 60000;
    buckets.forEach(function (b, i) {
      const start = new Date(b.at);
      const minuteOfDay = start.getHours() * 60 + start.getMinutes();
      const d = (every - (minuteOfDay % every)) % every;
      if (d >= stepMin) return;
      const at = new Date(start.getTime() + d * 60000);
      const x = left + (i + d / stepMin) * bw;
      const midnight = at.getHours() === 0 && at.getMinutes() === 0;
      xAxis.appendChild(el('line', { x1: x, x2: x, y1: top + ph, y2: top + ph + 4, class: 'tp-base' }));
      xAxis.appendChild(
        el(
          'text',
          { x: x, y: top + ph + 17, 'text-anchor': 'middle', 'data-at': at.toISOString() },
          midnight || range === 'week' ? dayLabel(at) : clock(at),
        ),
      );
    });
    svg.appendChild(xAxis);

    // The bars: one group per bucket, its counts in data attributes and a tooltip.
    const bars = el('g', { class: 'tp-bars' });
    buckets.forEach(function (b, i) {
      const x = left + i * bw;
      const g = el('g', { 'data-at': b.at });
      legendOrder.forEach(function (k) {
        g.setAttribute('data-' + k, String(/** @type {any} */ (b)[k]));
      });
      const end = new Date(new Date(b.at).getTime() + series.stepMs);
      const title =
        (range === 'week' ? dayLabel(new Date(b.at)) + ' ' : '') +
        clock(new Date(b.at)) +
        '–' +
        clock(end) +
        ': ' +
        legendOrder
          .map(function (k) {
            return /** @type {any} */ (b)[k] + ' ' + labels[k].toLowerCase();
          })
          .join(', ');
      g.appendChild(el('title', {}, title));
      g.appendChild(el('rect', { x: x, y: top, width: bw, height: ph, class: 'tp-hit' }));
      let base = 0;
      stacked.forEach(function (k) {
        const v = /** @type {any} */ (b)[k];
        if (!v) return;
        const y0 = y(base);
        const y1 = y(base + v);
        g.appendChild(
          el('rect', {
            x: (x + Math.min(1, bw * 0.15)).toFixed(2),
            y: y1.toFixed(2),
            width: Math.max(0.5, bw - 2 * Math.min(1, bw * 0.15)).toFixed(2),
            height: (y0 - y1).toFixed(2),
            class: 'tp-' + k,
          }),
        );
        base += v;
      });
      bars.appendChild(g);
    });
    svg.appendChild(bars);

    // Enqueued: a line through the buckets' middles.
    const points = buckets
      .map(function (b, i) {
        return (left + (i + 0.5) * bw).toFixed(2) + ',' + y(b.enqueued).toFixed(2);
      })
      .join(' ');
    svg.appendChild(el('polyline', { points: points, class: 'tp-enqueued' }));

    // The legend, with the range's totals.
    const legend = document.createElement('ul');
    legend.className = 'tp-legend';
    legendOrder.forEach(function (k) {
      const li = document.createElement('li');
      li.setAttribute('data-kind', k);
      const swatch = document.createElement('span');
      swatch.className = 'tp-swatch tp-' + k;
      const strong = document.createElement('strong');
      strong.setAttribute('data-total', k);
      strong.textContent = String(series.totals[k] || 0);
      li.appendChild(swatch);
      li.appendChild(document.createTextNode(labels[k] + ' '));
      li.appendChild(strong);
      legend.appendChild(li);
    });

    plot.replaceChildren(svg, legend);
    legendOrder.forEach(function (k) {
      figure.setAttribute('data-total-' + k, String(series.totals[k] || 0));
    });
    figure.setAttribute('data-buckets', String(n));
    figure.setAttribute('data-from', series.from);
    figure.setAttribute('data-to', series.to);
  };

  /** @param {string} text @param {string} state */
  const say = function (text, state) {
    if (!status) return;
    status.textContent = text;
    status.setAttribute('data-state', state);
  };

  /** @param {History} history */
  const drawAll = function (history) {
    root.querySelectorAll('[data-chart]').forEach(function (figure) {
      const series = history.ranges[figure.getAttribute('data-chart') || ''];
      if (series) draw(figure, series);
    });
  };

  let busy = false;
  let last = 0;
  /** @type {number | undefined} */
  let pending;

  const refresh = function () {
    pending = undefined;
    if (busy) return schedule();
    busy = true;
    last = Date.now();
    fetch(src, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (res) {
        return res.json().then(function (data) {
          if (!res.ok) throw new Error((data && data.error) || 'HTTP ' + res.status);
          return /** @type {History} */ (data);
        });
      })
      .then(function (history) {
        shown = history;
        drawAll(history);
        const unreadable = legendOrder.reduce(function (n, k) {
          return n + (history.unreadable[k] || 0);
        }, 0);
        say(
          'Updated ' +
            new Date(history.now).toLocaleTimeString() +
            '; times in your time zone.' +
            (unreadable > 0 ? ' ' + unreadable + ' events had no readable time and are in no chart.' : ''),
          'ok',
        );
        root.setAttribute('data-updated', history.now);
      })
      .catch(function (err) {
        say('Could not read the throughput counts: ' + err.message, 'error');
      })
      .then(function () {
        busy = false;
      });
  };

  const schedule = function () {
    if (pending !== undefined) return;
    pending = window.setTimeout(refresh, Math.max(250, 2000 - (Date.now() - last)));
  };

  refresh();
  // The live feed replaces the overview's sections when the projections move (and every 5 s): draw again then.
  const counts = document.querySelector('[data-section="counts"]');
  if (counts && window.MutationObserver) new MutationObserver(schedule).observe(counts, { childList: true });
  window.setInterval(schedule, 60000);
  /** @type {number | undefined} */
  let resizing;
  window.addEventListener('resize', function () {
    if (resizing !== undefined) window.clearTimeout(resizing);
    resizing = window.setTimeout(function () {
      resizing = undefined;
      if (shown) drawAll(shown);
    }, 150);
  });
})();
