import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkConfigFile, ConfigError, type ProjectConfig } from '../config/index.js';
import { isUnknownExtension, registerTypeScript } from '../worker/index.js';

// Issue 22: the project config file, found the way Node tools find theirs: from the working directory up to the
// filesystem root, the first directory with one wins. `--config <path>` or JOBTRAIL_CONFIG name it instead.

/** The names looked for in each directory, in this order; two in one directory is an error. */
export const configFileNames = [
  'jobtrail.config.json',
  'jobtrail.config.ts',
  'jobtrail.config.mts',
  'jobtrail.config.mjs',
  'jobtrail.config.js',
];

const isFile = (path: string): boolean => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/** The config file for `cwd`: the first directory from it up that has one; `undefined` when none has. */
export const findConfigFile = (cwd: string): string | undefined => {
  for (let dir = resolve(cwd); ;) {
    const found = configFileNames.filter((name) => isFile(join(dir, name)));
    if (found.length > 1)
      throw new ConfigError(`${dir} has ${found.join(' and ')}: keep one jobtrail config file per directory (or name one with --config)`);
    if (found.length === 1) return join(dir, found[0]!);
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
};

const typeScript = /\.[cm]?tsx?$/;

/** What the file holds: JSON parsed, or a module's default export (a `.ts` one through tsx of its own project, as `--workers`). */
const readConfigFile = async (file: string): Promise<unknown> => {
  if (extname(file) === '.json') {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`${file}: cannot read it: ${(error as Error).message}`);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new ConfigError(`${file}: not valid JSON: ${(error as Error).message}`);
    }
  }
  const url = pathToFileURL(file).href;
  let mod: { default?: unknown };
  try {
    try {
      mod = (await import(url)) as { default?: unknown };
    } catch (error) {
      if (!(typeScript.test(file) && isUnknownExtension(error))) throw error;
      try {
        await registerTypeScript(file);
      } catch {
        throw new ConfigError(
          `${file}: Node runs no TypeScript by itself: install tsx in its project (npm install --save-dev tsx), or write jobtrail.config.json or .mjs`,
        );
      }
      mod = (await import(`${url}?typescript`)) as { default?: unknown };
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${file}: cannot load it: ${String((error as Error)?.message ?? error).split('\n')[0]}`);
  }
  if (mod.default === undefined)
    throw new ConfigError(`${file}: export default an object of settings (export default { store: …, broker: … })`);
  return mod.default;
};

/** A relative `sqlite:` path or workers path of the file is relative to the file's directory, not the working directory. */
const resolvePaths = (dir: string, settings: ReturnType<typeof checkConfigFile>): ReturnType<typeof checkConfigFile> => {
  const out = { ...settings };
  if (out.store?.startsWith('sqlite:')) {
    // The path only: a query (?synchronous=…) is kept as it is.
    const rest = out.store.slice('sqlite:'.length);
    const q = rest.indexOf('?');
    const path = q < 0 ? rest : rest.slice(0, q);
    if (path !== '' && path !== ':memory:' && !isAbsolute(path)) out.store = `sqlite:${resolve(dir, path)}${q < 0 ? '' : rest.slice(q)}`;
  }
  const w = out.workers;
  // A path (./x, ../x, or a file that exists beside the config file) is resolved; anything else is a package name.
  if (w !== undefined && !isAbsolute(w) && (w.startsWith('.') || existsSync(resolve(dir, w)))) out.workers = resolve(dir, w);
  return out;
};

/** Where the config file came from, for messages. */
export type ConfigSource = '--config' | 'JOBTRAIL_CONFIG' | 'found';

/**
 * Loads the project config: the file `explicit` names (relative to `cwd`; it must exist), else the one found from `cwd`
 * up; `undefined` when there is none. Throws `ConfigError` (one line, naming the file and the key) when it is bad.
 */
export const loadProjectConfig = async (
  cwd: string,
  explicit?: { readonly path: string; readonly from: ConfigSource },
): Promise<ProjectConfig | undefined> => {
  let file: string | undefined;
  if (explicit !== undefined) {
    file = resolve(cwd, explicit.path);
    if (!isFile(file)) throw new ConfigError(`no config file at ${file} (from ${explicit.from})`);
  } else file = findConfigFile(cwd);
  if (file === undefined) return undefined;
  const settings = checkConfigFile(file, await readConfigFile(file));
  return { ...resolvePaths(dirname(file), settings), file };
};
