import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { root, type Ran } from '../support/cli.js';
import { readyTestStore, testJobId, testStoreUrl } from '../support/testStore.js';

// `jobtrail enqueue --priority`, run from the sources (node --import tsx src/cli/bin.ts), as a subprocess.
const test = suite('jobtrail enqueue --priority');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-priority-'));
const store = testStoreUrl(dir);
const common = ['--store', store, '--workers', 'test/fixtures/workers.ts'];
test.before(readyTestStore);
test.after(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: readonly string[]): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', ...args], {
      cwd: root,
      env: { ...process.env, JOBTRAIL_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });

test('--priority 5 is recorded, and show prints it', async () => {
  const jobId = testJobId('priority-cli-1');
  const r = await run(['enqueue', 'sleeper', '{}', '--job-id', jobId, '--priority', '5', '--json', ...common]);
  assert.is(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), { ok: true, jobId, created: true });
  const shown = await run(['show', jobId, '--store', store]);
  assert.is(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^priority\s+5$/m);
  const json = await run(['show', jobId, '--json', '--store', store]);
  assert.is((JSON.parse(json.stdout) as { priority?: number }).priority, 5);
});

test('--priority that is not a finite number exits 2 with a clear message, and records nothing', async () => {
  for (const bad of ['x', 'Infinity', '']) {
    const jobId = testJobId(`priority-cli-bad-${bad.length}`);
    const r = await run(['enqueue', 'sleeper', '{}', '--job-id', jobId, '--priority', bad, ...common]);
    assert.is(r.code, 2, `--priority ${JSON.stringify(bad)}: exit ${r.code}, ${r.stderr}`);
    assert.match(r.stderr, `--priority takes a finite number`);
    assert.match(r.stderr, JSON.stringify(bad));
    const shown = await run(['show', jobId, '--store', store]);
    assert.is(shown.code, 1, `job ${jobId} was not enqueued`);
  }
});

test.run();
