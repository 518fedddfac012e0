import { readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder of jobtrail's projection files (`projections/` at the package
 * root). The same relative path holds from `src/projections/` and from the
 * compiled `dist/projections/`.
 */
export const projectionsDir: string = fileURLToPath(new URL('../../projections/', import.meta.url));

/** The names of jobtrail's own projections, as a companion object. */
export const ProjectionNames = { jobView: 'job-view', jobDashboard: 'job-dashboard', jobThroughput: 'job-throughput' } as const;

/** jobtrail's projection files: `job-view.js`, `job-dashboard.js` and `job-throughput.js`. */
export const builtInProjectionFiles: readonly string[] = [
  join(projectionsDir, `${ProjectionNames.jobView}.js`),
  join(projectionsDir, `${ProjectionNames.jobDashboard}.js`),
  join(projectionsDir, `${ProjectionNames.jobThroughput}.js`),
];

/** A projection file read from disk; its name is the file name without `.js`. */
export interface ProjectionFile {
  readonly name: string;
  readonly path: string;
  readonly source: string;
}

/** The projection name of a file: `projections/job-view.js` → `job-view`. */
export const projectionNameOf = (path: string): string => basename(path, extname(path));

/** Reads projection files; two files with one name are refused. */
export const readProjectionFiles = async (paths: readonly string[]): Promise<ProjectionFile[]> => {
  const files = await Promise.all(
    paths.map(async (path) => ({ name: projectionNameOf(path), path, source: await readFile(path, 'utf8') })),
  );
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.name)) throw new Error(`two projection files are named "${f.name}" (${paths.join(', ')}); a projection's name is its file name, so rename one`);
    seen.add(f.name);
  }
  return files;
};
