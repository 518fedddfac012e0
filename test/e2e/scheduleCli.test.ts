// `jobtrail schedule …` as a user runs it: a child process per command (from the sources, through tsx), on one
// SQLite file. These commands only record; no process here fires.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { root, type Ran } from '../support/cli.js';

const test = suite('jobtrail schedule (CLI)');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-schedule-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const store = `sqlite:${join(dir, 'events.db')}`;

/** `jobtrail <args>` from the sources (no build needed), with this suite's store. */
const cli = (...args: string[]): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', ...args], {
      cwd: root,
      env: { ...process.env, JOBTRAIL_STORE: store, JOBTRAIL_LOG_LEVEL: 'warn', USER: 'tester' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });

test('set, list, pause, resume, trigger, remove', async () => {
  let r = await cli(
    'schedule',
    'set',
    'nightly',
    '30 2 * * *',
    'sleeper',
    '{"ms": 1}',
    '--tz',
    'Europe/Berlin',
    '--catch-up',
    'all',
    '--overlap',
    'skip',
    '--workers',
    'test/fixtures/workers.ts',
  );
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /nightly: set; next run 20\d\d-/);
  r = await cli(
    'schedule',
    'set',
    'nightly',
    '30 2 * * *',
    'sleeper',
    '{"ms": 1}',
    '--tz',
    'Europe/Berlin',
    '--catch-up',
    'all',
    '--overlap',
    'skip',
  );
  assert.match(r.stdout, /nightly: unchanged/);
  r = await cli('schedule', 'list', '--json');
  assert.is(r.code, 0, r.stderr);
  const [listed] = JSON.parse(r.stdout) as {
    scheduleId: string;
    timezone: string;
    catchUp: string;
    overlap: string;
    status: string;
    nextFireTime: string;
  }[];
  assert.equal(
    { id: listed!.scheduleId, tz: listed!.timezone, catchUp: listed!.catchUp, overlap: listed!.overlap, status: listed!.status },
    { id: 'nightly', tz: 'Europe/Berlin', catchUp: 'all', overlap: 'skip', status: 'active' },
  );
  // 02:30 in Berlin is 00:30 or 01:30 UTC, whatever the season.
  assert.match(listed!.nextFireTime, /T0[01]:30:00\.000Z$/);
  r = await cli('schedule', 'pause', 'nightly');
  assert.is(r.stdout.trim(), 'nightly: paused');
  r = await cli('schedule', 'list');
  assert.match(r.stdout, /nightly\t30 2 \* \* \*\tEurope\/Berlin\tsleeper\tpaused\t—/);
  r = await cli('schedule', 'resume', 'nightly');
  assert.is(r.stdout.trim(), 'nightly: active');
  r = await cli('schedule', 'trigger', 'nightly', '--json');
  assert.is(r.code, 0, r.stderr);
  const { jobId, created } = JSON.parse(r.stdout) as { jobId: string; created: boolean };
  assert.ok(created);
  assert.match(jobId, /^nightly@20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  r = await cli('show', jobId, '--json');
  assert.is(r.code, 0, r.stderr);
  assert.is((JSON.parse(r.stdout) as { scheduleId?: string }).scheduleId, 'nightly');
  r = await cli('schedule', 'list', '--json');
  assert.is((JSON.parse(r.stdout) as { lastJobId?: string }[])[0]!.lastJobId, jobId);
  r = await cli('schedule', 'remove', 'nightly');
  assert.is(r.stdout.trim(), 'nightly: removed');
  r = await cli('schedule', 'list');
  assert.is(r.stdout.trim(), 'no schedules');
  r = await cli('schedule', 'pause', 'nightly');
  assert.is(r.code, 1);
  assert.match(r.stderr, /no schedule "nightly"/);
});

test('bad input: a bad cron, an unknown time zone, a payload the worker refuses; nothing recorded', async () => {
  let r = await cli('schedule', 'set', 'bad', '61 * * * *', 'sleeper', '{}');
  assert.is(r.code, 2);
  assert.match(r.stderr, /invalid cron "61 \* \* \* \*": .*minute/);
  r = await cli('schedule', 'set', 'bad', '0 3 * * *', 'sleeper', '{}', '--tz', 'Europe/Atlantis');
  assert.is(r.code, 2);
  assert.match(r.stderr, /unknown time zone "Europe\/Atlantis"/);
  r = await cli('schedule', 'set', 'bad', '0 3 * * *', 'sleeper', '{"ms": "soon"}', '--workers', 'test/fixtures/workers.ts');
  assert.is(r.code, 2);
  assert.match(r.stderr, /the payload does not match worker "sleeper"/);
  r = await cli('schedule', 'set', 'bad', '0 3 * * *', 'sleeper', '{not json');
  assert.is(r.code, 1);
  assert.match(r.stderr, /not valid JSON/);
  r = await cli('schedule', 'list', '--json');
  assert.equal(JSON.parse(r.stdout), []);
});

test.run();
