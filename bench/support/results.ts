import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/results/ (git-ignored). */
export const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));

/** Writes `data` to `bench/results/<name>-<timestamp>.json` and returns the path. */
export const writeResults = (name: string, data: unknown): string => {
  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date()
    .toISOString()
    .replaceAll(':', '-')
    .replace(/\.\d+Z$/, 'Z');
  const path = join(resultsDir, `${name}-${stamp}.json`);
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
  return path;
};

/** The machine a result was measured on. */
export const machine = () => ({
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  memoryGb: Math.round(totalmem() / 2 ** 30),
  loadavgAtStart: loadavg(),
  platform: process.platform,
});

const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));

/**
 * Which code was measured: the commit, whether src/ had uncommitted changes,
 * and a hash of every file under src/ (other people may be changing it while
 * a benchmark runs).
 */
export const sourceState = () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const git = (...a: string[]) => {
    try {
      return execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim();
    } catch {
      return undefined;
    }
  };
  const hash = createHash('sha256');
  for (const f of files(join(root, 'src')).sort()) hash.update(f).update(readFileSync(f));
  return {
    commit: git('rev-parse', 'HEAD'),
    srcChanges: git('status', '--short', '--', 'src')?.split('\n').filter(Boolean).length ?? 0,
    srcSha256: hash.digest('hex'),
  };
};
