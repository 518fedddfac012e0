import type { IncomingMessage, ServerResponse } from 'node:http';

/** A request the dashboard refuses: a 4xx with a message that says what was wrong. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The security headers of every response: a strict Content-Security-Policy (no inline script or style), no framing, no sniffing. */
export const securityHeaders: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Sends a whole response (headers once, then the body). */
export const send = (
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string | Buffer,
  headers: Readonly<Record<string, string>> = {},
): void => {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, {
    ...securityHeaders,
    'Content-Type': contentType,
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(body);
};

/** Sends a JSON value. */
export const sendJson = (res: ServerResponse, status: number, value: unknown, headers: Readonly<Record<string, string>> = {}): void =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), headers);

/** Sends a page. */
export const sendHtml = (res: ServerResponse, status: number, page: string, headers: Readonly<Record<string, string>> = {}): void =>
  send(res, status, 'text/html; charset=utf-8', page, headers);

/**
 * Reads a request body of at most `limit` bytes; a larger one is refused
 * with 413 as soon as it passes the limit (the rest is not read).
 */
export const readBody = (req: IncomingMessage, limit: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new HttpError(413, `request body of ${declared} bytes is larger than the limit of ${limit} bytes`, { Connection: 'close' }));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        reject(new HttpError(413, `request body is larger than the limit of ${limit} bytes`, { Connection: 'close' }));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', (error) => {
      if (done) return;
      done = true;
      reject(new HttpError(400, `could not read the request body: ${error.message}`));
    });
  });

/** The path and query of a request in origin form (`/path?query`); anything else is a 400. */
export const requestUrl = (req: IncomingMessage): URL => {
  const target = req.url ?? '';
  if (!target.startsWith('/'))
    throw new HttpError(400, `request target must be a path starting with "/", got ${JSON.stringify(target.slice(0, 100))}`);
  try {
    // A fixed origin: the path cannot pick the host (`//evil/x` stays a path).
    return new URL(`http://dashboard${target}`);
  } catch {
    throw new HttpError(400, `request target is not a valid URL path: ${JSON.stringify(target.slice(0, 100))}`);
  }
};

/** Whether the client prefers JSON (API calls) to HTML (pages). */
export const wantsJson = (req: IncomingMessage, url: URL): boolean =>
  url.pathname.startsWith('/api/') || url.pathname.startsWith('/events/') || (req.headers.accept ?? '').includes('application/json');
