import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { root } from '../support/cli.js';

const test = suite('the README');
const run = promisify(execFile);
const readme = readFileSync(join(root, 'README.md'), 'utf8');

test('the first screen shows the two commands and the example', () => {
  const firstScreen = readme.split('\n').slice(0, 60).join('\n');
  assert.match(firstScreen, 'npm start');
  assert.match(firstScreen, 'npm test');
  assert.match(firstScreen, 'docker compose up');
});

test('the example in the README is examples/quickstart.ts, and it runs as the README says', async () => {
  const example = readFileSync(join(root, 'examples/quickstart.ts'), 'utf8').trim();
  assert.ok(readme.includes('```ts\n' + example + '\n```'), 'the README shows examples/quickstart.ts verbatim');
  const { stdout } = await run(process.execPath, ['--conditions=jobtrail-source', '--import', 'tsx', 'examples/quickstart.ts'], { cwd: root, timeout: 60_000 });
  assert.is(stdout.trim(), 'completed JobEnqueued → JobStarted → JobProgressed → JobCompleted');
  assert.ok(readme.includes('`completed JobEnqueued → JobStarted → JobProgressed → JobCompleted`'), 'the README states that output');
});

test.run();
