// Runs the test/**/*.test.ts files with uvu (tsx loads the TypeScript),
// mirrors their output, and ends with one plain summary line
// "N passed, N failed, N skipped" that CI reads; the exit code is non-zero
// when a test failed or none ran. An optional argument narrows the files by a
// regular expression on their path under test/, e.g. `npm test -- unit/`.
//
// Before any test starts it provisions what the selected tests need (see
// provision.js): Debian's Chromium for the browser tests, and glibc >= 2.38
// for the parity test with KurrentDB's projection runtime.
//
// The tests run in up to two uvu processes, one after the other:
// - the parity test (test/unit/projections/kurrentParity.test.ts) alone, with
//   node launched through the provisioned glibc's loader when the system's is
//   too old, and JOBTRAIL_PARITY_REQUIRED=1, which makes a runtime that does
//   not load a failure rather than a skip;
// - every other selected file, with the plain node.
// Their counts add up into the one summary line. If the parity test's glibc
// cannot be provisioned it counts as one failed test, with the reason.
// JOBTRAIL_TEST_TIMEOUT_MS (default 30 minutes) kills a process that hangs.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { provisionChromium, provisionGlibc, systemNode } from './provision.js';

const require = createRequire(import.meta.url);
const uvuBin = join(dirname(dirname(require.resolve('uvu'))), 'bin.js');
const testDir = dirname(dirname(fileURLToPath(import.meta.url)));
const parityFile = 'unit/projections/kurrentParity.test.ts';
const limitMs = Number(process.env.JOBTRAIL_TEST_TIMEOUT_MS ?? 30 * 60 * 1000);

/** The test files under test/ (paths relative to it, as uvu names them) whose path matches `pattern` (case-insensitive, like uvu). */
const selectTestFiles = (pattern) => {
  const matches = new RegExp(pattern ?? '', 'i');
  return readdirSync(testDir, { recursive: true })
    .map((name) => name.split('\\').join('/'))
    .filter((name) => name.endsWith('.test.ts') && !/(^|\/)node_modules\//.test(name) && matches.test(name))
    .sort((a, b) => a.localeCompare(b));
};

/** Whether any of the files imports test/support/browser (and so launches Chromium). */
const needsBrowser = (files) => files.some((name) => /support\/browser(\.js)?['"]/.test(readFileSync(join(testDir, name), 'utf8')));

/** A uvu pattern that selects exactly these files. */
const exactly = (files) => `^(?:${files.map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`;

/**
 * Runs uvu on `files` with `node` ({ command, args, env }: the command, the
 * arguments before node's own, extra environment), mirroring its output;
 * resolves to its counts.
 */
const runUvu = (files, node, env = {}) =>
  new Promise((resolve) => {
    const args = [...node.args, '--import', 'tsx', uvuBin, 'test', exactly(files), '-c', 'false'];
    const child = spawn(node.command, args, {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, FORCE_COLOR: '0', ...node.env, ...env },
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    const timer = setTimeout(() => {
      console.error(`\ntests did not finish within ${limitMs} ms (a leaked handle?): killing the run`);
      child.kill('SIGKILL');
    }, limitMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      console.error(`could not start ${node.command}: ${err.message}`);
      resolve({ ran: 0, passed: 0, failed: 1, skipped: 0 });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(countsOf(out, code === 0 && signal === null));
    });
  });

/** The counts in uvu's output; a process that failed with no failed test (a crash) counts as one failure. */
const countsOf = (out, exitedCleanly) => {
  // The last match: uvu prints its totals at the end, after anything the tests print.
  const num = (label) => Number([...out.matchAll(new RegExp(`${label}:\\s+(\\d+)`, 'g'))].at(-1)?.[1] ?? 0);
  // uvu's Total counts the tests that ran (passed or failed), not the skipped ones.
  const ran = num('Total');
  const passed = num('Passed');
  const failed = Math.max(0, ran - passed) + (!exitedCleanly && ran === passed ? 1 : 0);
  return { ran, passed, failed, skipped: num('Skipped') };
};

/** Runs the parity test under a new enough glibc, or reports why it cannot as one failure. */
const runParity = async (glibc) => {
  if ('error' in glibc) {
    console.log(`${parityFile}\nFAILED: ${glibc.error}`);
    return { ran: 1, passed: 0, failed: 1, skipped: 0 };
  }
  return runUvu([parityFile], glibc, { JOBTRAIL_PARITY_REQUIRED: '1' });
};

const main = async () => {
  const files = selectTestFiles(process.argv[2]);
  const others = files.filter((f) => f !== parityFile);
  const withParity = files.includes(parityFile);

  if (needsBrowser(others)) {
    const refusal = provisionChromium();
    if (refusal) {
      console.error(refusal);
      process.exit(1);
    }
  } else {
    console.log('provision: chromium not needed by the selected tests');
  }
  const glibc = withParity ? provisionGlibc() : undefined;

  // ESDB_URL: the store-independent engine, CLI and job-store tests run on that EventStoreDB (test/support/testStore.ts).
  console.log(
    process.env.ESDB_URL
      ? `store: EventStoreDB at ESDB_URL=${process.env.ESDB_URL}`
      : 'store: embedded (set ESDB_URL to run on EventStoreDB)',
  );
  const results = [];
  if (withParity) results.push(await runParity(glibc));
  if (others.length > 0) results.push(await runUvu(others, systemNode));

  const sum = (key) => results.reduce((n, r) => n + r[key], 0);
  console.log(`\n${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped`);
  if (sum('ran') === 0) {
    console.error(files.length === 0 ? `no test file matches ${process.argv[2]}` : 'no test ran');
    process.exit(1);
  }
  process.exit(sum('failed') === 0 ? 0 : 1);
};

await main();
