// `npm run build` (also run by `prepare`, so `npm ci` on a clone builds):
// compiles src/ to dist/ with tsc, and copies the files tsc does not (the
// dashboard's CSS, JS and icon) beside the compiled code that serves them.
// dist/ is made anew, so nothing of a deleted source file is left in it.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const at = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url));

rmSync(at('dist'), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);
cpSync(at('src/dashboard/assets'), at('dist/dashboard/assets'), { recursive: true });
