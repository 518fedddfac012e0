import { html, type Html } from './html.js';

/** `2026-12-06T21:26:12.416Z` as `2026-12-06 21:26:12 UTC` (the text shown without the script); the input when it is not a time. */
export const utcText = (iso: string): string => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
};

/** The exact UTC time, as the title (hover) of every time. */
export const utcTitle = (iso: string): string => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')} UTC`;
};

/**
 * A time as every page shows it: `<time datetime="<ISO>" title="<exact UTC>">` with the UTC text; the page's script
 * rewrites the text in the browser's zone with a relative time ("3 min ago"). The CSS keeps it on one line.
 */
export const timeTag = (iso: string): Html => html`<time datetime="${iso}" title="${utcTitle(iso)}">${utcText(iso)}</time>`;
