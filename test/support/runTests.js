// Runs every test/**/*.test.ts file with uvu in one process (tsx loads the
// TypeScript), mirrors its output, and ends with one plain summary line
// "N passed, N failed, N skipped" that CI reads. An optional argument narrows
// the files by a regular expression on their path, e.g. `npm test -- unit/`.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const uvuBin = join(dirname(dirname(require.resolve('uvu'))), 'bin.js');
const pattern = process.argv[2] ?? '\\.test\\.ts$';
const limitMs = Number(process.env.JOBTRAIL_TEST_TIMEOUT_MS ?? 30 * 60 * 1000);

const child = spawn(process.execPath, ['--import', 'tsx', uvuBin, 'test', pattern, '-c', 'false'], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, FORCE_COLOR: '0' },
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

child.on('exit', (code, signal) => {
  clearTimeout(timer);
  const num = (label) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(out)?.[1] ?? 0);
  const total = num('Total');
  const passed = num('Passed');
  const skipped = num('Skipped');
  // uvu's Total counts the tests that ran (passed or failed), not the skipped ones.
  const failed = Math.max(0, total - passed) + (code !== 0 && total === passed ? 1 : 0);
  console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
  if (total === 0) {
    console.error('no test ran');
    process.exit(1);
  }
  process.exit(code === 0 && signal === null && failed === 0 ? 0 : 1);
});
