import type { IncomingMessage } from 'node:http';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { PathReporter } from 'io-ts/lib/PathReporter.js';
import { HttpError } from './http.js';
import { ListStatuses, type ListStatus } from './pages.js';

/** The body of a retry or cancel: who did it, why (cancel), and optionally the credentials. */
export const ActionBody = t.exact(t.partial({ by: t.string, reason: t.string, token: t.string, csrf: t.string }), 'ActionBody');
export type ActionBody = t.TypeOf<typeof ActionBody>;

/** The body of the sign-in form: the token, and the page to go back to. */
export const LoginBody = t.exact(t.partial({ token: t.string, next: t.string }), 'LoginBody');
export type LoginBody = t.TypeOf<typeof LoginBody>;

const controlCharacters = /[\u0000-\u001f\u007f]/;

/** A JSON or form body, decoded by `codec`; a 400 or 415 that says what was wrong otherwise. An empty body is `{}`. */
export const parseBody = <A>(req: IncomingMessage, text: string, codec: t.Type<A, unknown, unknown>): A => {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  let raw: unknown;
  if (text.trim() === '') raw = {};
  else if (type === 'application/json') {
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new HttpError(400, `the body is not valid JSON: ${(error as Error).message}`);
    }
  } else if (type === 'application/x-www-form-urlencoded') raw = Object.fromEntries(new URLSearchParams(text));
  else
    throw new HttpError(
      415,
      `send the body as application/json or application/x-www-form-urlencoded, not ${JSON.stringify(type || 'no content type')}`,
    );
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new HttpError(400, 'the body must be a JSON object, e.g. {"by": "ada"}');
  const decoded = codec.decode(raw);
  if (E.isLeft(decoded)) throw new HttpError(400, `invalid body: ${PathReporter.report(decoded).join('; ')}`);
  return decoded.right;
};

/** Free text from a request, trimmed: `undefined` when absent or blank, a 400 when longer than `max` or holding control characters. */
export const checkText = (what: string, value: string | undefined, max: number): string | undefined => {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (v.length > max || controlCharacters.test(v))
    throw new HttpError(400, `"${what}" must be at most ${max} characters without control characters`);
  return v;
};

/** The `status` of a list: `all` when absent, a 400 naming the choices when unknown. */
export const parseListStatus = (value: string | null): ListStatus => {
  if (value === null || value === '') return 'all';
  if (Object.hasOwn(ListStatuses, value)) return value as ListStatus;
  throw new HttpError(400, `unknown status ${JSON.stringify(value.slice(0, 50))}; use one of ${Object.values(ListStatuses).join(', ')}`);
};

/** A stream revision (`after`, `Last-Event-ID`): -1 when absent, a 400 when not a whole number ≥ -1. */
export const parseRevision = (value: string | null | undefined, what: string): number => {
  if (value === null || value === undefined || value === '') return -1;
  const n = Number(value);
  if (!Number.isInteger(n) || n < -1)
    throw new HttpError(400, `${what} must be a stream revision (a whole number ≥ -1), got ${JSON.stringify(value.slice(0, 50))}`);
  return n;
};

/** Where a browser may be sent after signing in: a path of this dashboard only. */
export const localPath = (next: string | undefined): string => (next !== undefined && /^\/(?![/\\])/.test(next) ? next : '/');
