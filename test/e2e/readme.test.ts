import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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
  // `jobtrail` resolves to this package's own dist/ (the package.json exports), as it does in an app that installed it.
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/quickstart.ts'], { cwd: root, timeout: 60_000 });
  const output = 'completed true JobEnqueued → JobStarted → JobProgressed → JobCompleted';
  assert.is(stdout.trim(), output);
  assert.ok(readme.includes(`\`${output}\``), 'the README states that output');
});

test('the links of the README lead to files of the repository', () => {
  const links = [...readme.matchAll(/\]\(((?:docs|examples)\/[^)#]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!);
  assert.ok(links.length >= 5, `links found: ${links.join(', ')}`);
  for (const link of links) assert.ok(existsSync(join(root, link)), `${link} exists`);
});

test('the README and docs/ cite no document outside the repository', () => {
  for (const file of [
    readme,
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => readFileSync(join(root, 'docs', f), 'utf8')),
  ])
    assert.not.match(file, /DESIGN(\.md| §)/);
});

test.run();
