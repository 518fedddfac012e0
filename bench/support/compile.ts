import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { resultsDir } from './results.js';

const repo = new URL('../../', import.meta.url).pathname;
const buildDir = join(resultsDir, 'build');

/**
 * Compiles the repository (src, bench) with tsc into bench/results/build and
 * returns the compiled child.js: the benchmarks measure compiled JavaScript,
 * as users run it (the package ships dist/), not the sources through tsx.
 */
export const compileChild = (): string => {
  rmSync(buildDir, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [
      join(repo, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(repo, 'tsconfig.json'),
      '--noEmit',
      'false',
      '--outDir',
      buildDir,
      '--declaration',
      'false',
    ],
    { cwd: repo, stdio: 'inherit' },
  );
  // The projection files are read at run time from ../../projections/ of src/projections/ (as from dist/).
  cpSync(join(repo, 'projections'), join(buildDir, 'projections'), { recursive: true });
  return join(buildDir, 'bench', 'support', 'child.js');
};

/** Removes the build (left there it would be linted as part of bench/). */
export const removeBuild = (): void => rmSync(buildDir, { recursive: true, force: true });
