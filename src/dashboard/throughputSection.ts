import { ThroughputRanges, type ThroughputRange } from '../projections/throughputQueries.js';
import { html, type Html } from './html.js';

/** The charts' titles, by range. */
export const throughputChartTitles: Readonly<Record<ThroughputRange, string>> = {
  hour: 'Last hour, per minute',
  day: 'Last 24 hours, per 15 minutes',
  week: 'Last 7 days, per hour',
};

/**
 * The overview's throughput history: one figure per range, drawn by
 * `/assets/charts.js` from `/api/throughput` (the job-throughput projection)
 * and redrawn as the overview's live feed moves. Not a live section: the
 * feed's `sections` never replace it.
 */
export const throughputHistorySection = (): Html => html`<link rel="stylesheet" href="/assets/charts.css">
<section class="tp-history" data-throughput-history data-src="/api/throughput">
<h2>Throughput history <span class="note">(counted by the job-throughput projection from each event's own time: it survives restarts)</span></h2>
<div class="tp-charts">
${(Object.keys(ThroughputRanges) as ThroughputRange[]).map(
  (r) =>
    html`<figure class="tp-chart" data-chart="${r}"><figcaption>${throughputChartTitles[r]}</figcaption><div class="tp-plot"></div></figure>`,
)}
</div>
<p class="note" data-tp-status>Loading the counts…</p>
</section>
<script src="/assets/charts.js" defer></script>`;
