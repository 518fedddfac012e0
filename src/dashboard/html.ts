/** Markup that is already safe: built by `html` (which escapes every value) or by `raw` (for constant text only). */
export interface Html {
  readonly __html: string;
}

const entities: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for an HTML text node or a quoted attribute value. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => entities[c] ?? c);

const isHtml = (v: unknown): v is Html => typeof v === 'object' && v !== null && typeof (v as Html).__html === 'string';

const render = (v: unknown): string => {
  if (v === undefined || v === null || v === false) return '';
  if (isHtml(v)) return v.__html;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
};

/**
 * The one way pages are built: a template whose every interpolated value is
 * escaped, unless it is itself `Html`. Arrays are joined; `undefined`, `null`
 * and `false` render as nothing. Attribute values must be quoted in the
 * template (`href="${url}"`), and URLs are built by the server, never taken
 * from user input (no `javascript:` can get in).
 */
export const html = (strings: TemplateStringsArray, ...values: readonly unknown[]): Html => {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return { __html: out };
};

/** Constant markup written in this module's source: never pass user data. */
export const raw = (markup: string): Html => ({ __html: markup });

/** The markup as text. */
export const toText = (h: Html): string => h.__html;
