import { createHash } from 'node:crypto';
import { open, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as t from 'io-ts';
import { defineWorker, NonRetryableError } from '../worker/index.js';

/** A number from 0 to 99 that depends only on the text: the demo's failures are deterministic. */
const bucket = (text: string): number => createHash('sha1').update(text).digest().readUInt16BE(0) % 100;

export const SendEmailPayload = t.type({ to: t.string, subject: t.string, template: t.string });

/**
 * "Sends" an email. Deterministic failures keyed by the address: 20% of
 * addresses fail their first attempt (SMTP 421), 5% fail their first two, and
 * addresses at `invalid.example` bounce for good (not retryable).
 */
export const sendEmail = defineWorker({
  name: 'send-email',
  payload: SendEmailPayload,
  maxAttempts: 4,
  concurrency: 20,
  retryDelay: (attempt, random) => 200 * attempt + Math.floor(random * 100),
  action: async (email, ctx) => {
    await sleep(5 + bucket(email.to + email.subject) / 10, undefined, { signal: ctx.signal });
    if (email.to.endsWith('@invalid.example')) throw new NonRetryableError(`550 5.1.1 <${email.to}>: recipient address rejected`);
    const b = bucket(email.to);
    if (b < 5 && ctx.attempt <= 2) throw new Error(`421 4.7.0 smtp.example: try again later (attempt ${ctx.attempt})`);
    if (b < 25 && ctx.attempt === 1) throw new Error('421 4.7.0 smtp.example: too many connections, try again later');
    return { messageId: `<${ctx.jobId}@smtp.example>`, accepted: [email.to] };
  },
});

export const ImportCsvPayload = t.type({ file: t.string, chunkSize: t.number });

/**
 * Imports a CSV file of customers in chunks, reporting progress after each
 * chunk; rows with a malformed email are counted as rejected. Stops early when
 * its signal is aborted.
 */
export const importCsv = defineWorker({
  name: 'import-csv',
  payload: ImportCsvPayload,
  maxAttempts: 3,
  concurrency: 2,
  timeoutMs: 120_000,
  retryDelay: () => 500,
  action: async ({ file, chunkSize }, ctx) => {
    const handle = await open(file, 'r').catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' ? new NonRetryableError(`no such file: ${file}`) : error;
    });
    try {
      const text = await handle.readFile('utf8');
      const [header, ...lines] = text.split('\n').filter((l) => l.trim() !== '');
      if (header !== 'id,name,email,country') throw new NonRetryableError(`unexpected header in ${file}: ${header}`);
      let imported = 0;
      let rejected = 0;
      for (let i = 0; i < lines.length; i += chunkSize) {
        ctx.signal.throwIfAborted();
        for (const line of lines.slice(i, i + chunkSize)) {
          const [, , email] = line.split(',');
          if (email !== undefined && /^[^@\s]+@[^@\s]+\.[a-z]+$/.test(email)) imported++;
          else rejected++;
        }
        await sleep(20, undefined, { signal: ctx.signal });
        const done = Math.min(lines.length, i + chunkSize);
        await ctx.progress(Math.round((done / lines.length) * 100), `${done} of ${lines.length} rows`);
      }
      return { file, rows: lines.length, imported, rejected };
    } finally {
      await handle.close();
    }
  },
});

/** The demo's workers. */
export const demoWorkers = [sendEmail, importCsv];

/** Writes a CSV file of `rows` customers (about 1 in 50 with a malformed email). */
export const writeCustomersCsv = async (path: string, rows: number, seed: number): Promise<void> => {
  await mkdir(dirname(path), { recursive: true });
  const countries = ['NL', 'DE', 'FR', 'US', 'BR', 'JP', 'KE', 'IN'];
  const lines = ['id,name,email,country'];
  for (let i = 1; i <= rows; i++) {
    const n = (i * 7919 + seed * 104729) % 100_000;
    const email = i % 50 === 0 ? `customer${n}-at-example.com` : `customer${n}@example.com`;
    lines.push(`${i},Customer ${n},${email},${countries[n % countries.length]}`);
  }
  await writeFile(path, lines.join('\n') + '\n');
};
