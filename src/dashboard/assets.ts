import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

const assetFiles = {
  'dashboard.css': 'text/css; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
  'charts.js': 'text/javascript; charset=utf-8',
  'charts.css': 'text/css; charset=utf-8',
} as const;

/** A file served under `/assets/`: its bytes, its content type, and an ETag of its content. */
export interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

/** The served files by name. */
export type Assets = ReadonlyMap<string, Asset>;

/** The folder of the CSS, JS and icon files, beside this module (the build copies them into `dist/dashboard/`). */
const assetsDir = new URL('./assets/', import.meta.url);

/** Reads the CSS, JS and icon files once, at start. */
export const loadAssets = async (): Promise<Assets> => {
  const out = new Map<string, Asset>();
  for (const [name, type] of Object.entries(assetFiles)) {
    const body = await readFile(new URL(name, assetsDir));
    out.set(name, { body, type, etag: `"${createHash('sha1').update(body).digest('base64url')}"` });
  }
  return out;
};
