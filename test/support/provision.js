// What the test run needs from the machine, provided before any test starts
// (used by runTests.js; each step prints one "provision: ..." line):
//
// - Debian's Chromium at /usr/bin/chromium for the browser tests. When it is
//   missing, a root run installs it with apt-get; any other run stops with the
//   command to run.
// - glibc >= 2.38 for the parity test, whose native library
//   (@kurrent/gaffer-runtime's gaffer.so) needs it. On an older glibc (Debian
//   12 has 2.36) Debian 13's libc6, libstdc++6 and libgcc-s1 are downloaded
//   with apt-get using a private apt state (nothing in the system changes) and
//   unpacked into a user cache folder; node then runs through that glibc's
//   dynamic loader. The cache is kept between runs and clones.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { arch, homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Where Debian installs Chromium; test/support/browser.ts launches it from there. */
const chromiumPath = '/usr/bin/chromium';
const chromiumFix = 'sudo apt-get install -y chromium';

/** Runs a command quietly; returns its exit status and combined output. */
const run = (command, args, options = {}) => {
  const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.error) return { ok: false, output: result.error.message };
  return { ok: result.status === 0, output };
};

/** The last non-empty lines of a command's output, for a failure message. */
const tail = (output, lines = 1) =>
  output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(' | ');

/** "12 s" since `since` (a Date.now()). */
const seconds = (since) => `${Math.round((Date.now() - since) / 1000)} s`;

/**
 * Makes sure /usr/bin/chromium exists. Returns null when it does (present or
 * just installed), or the one-line reason the run cannot go on.
 */
export const provisionChromium = ({ root = process.getuid?.() === 0 } = {}) => {
  if (existsSync(chromiumPath)) {
    console.log(`provision: chromium present (${chromiumPath})`);
    return null;
  }
  if (!root) {
    return `provision: ${chromiumPath} is missing and the browser tests need it; this run is not root, so install it yourself and rerun: ${chromiumFix}`;
  }
  console.log(
    `provision: chromium missing: installing Debian's chromium (apt-get update -qq; apt-get install -y -qq chromium), a minute or two`,
  );
  const started = Date.now();
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', 'chromium'],
  ]) {
    const step = run('apt-get', args, { env });
    if (!step.ok)
      return `provision: apt-get ${args[0]} for chromium failed: ${tail(step.output, 3)}; install it yourself and rerun: ${chromiumFix}`;
  }
  if (!existsSync(chromiumPath)) return `provision: apt-get installed chromium but ${chromiumPath} is still missing`;
  console.log(`provision: chromium installed (${chromiumPath}) in ${seconds(started)}`);
  return null;
};

/** The glibc the gaffer runtime needs, and where Debian ships a new enough one. */
const minGlibc = '2.38';
const suite = 'trixie';
const packages = ['libc6', 'libstdc++6', 'libgcc-s1'];
const keyring = `/usr/share/keyrings/debian-archive-${suite}-stable.gpg`;
const multiarch = 'x86_64-linux-gnu';
const markerName = '.complete';

/** "2.36" < "2.38" as version numbers. */
const older = (a, b) => {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) < (y[i] ?? 0);
  }
  return false;
};

/** The running glibc's version ("2.36"), or undefined when not on glibc. */
const systemGlibc = () => process.report?.getReport().header.glibcVersionRuntime;

/** ${XDG_CACHE_HOME:-$HOME/.cache}/jobtrail/glibc-trixie */
export const glibcCacheDir = (env = process.env) => {
  const base = env.XDG_CACHE_HOME?.startsWith('/') ? env.XDG_CACHE_HOME : join(env.HOME || homedir(), '.cache');
  return join(base, 'jobtrail', `glibc-${suite}`);
};

/** The plain node: how runTests.js launches the other tests. */
export const systemNode = { command: process.execPath, args: [], env: {} };

const restoreExecPath = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'restoreExecPath.js')).href;

/**
 * How node is launched through the glibc unpacked in `dir`: its dynamic
 * loader runs the node binary against that folder's libraries (child
 * processes are not affected; see restoreExecPath.js).
 */
const loaderFor = (dir) => {
  const libDir = join(dir, 'usr', 'lib', multiarch);
  return {
    command: join(libDir, 'ld-linux-x86-64.so.2'),
    args: ['--library-path', libDir, process.execPath, '--import', restoreExecPath],
    env: { JOBTRAIL_NODE_PATH: process.execPath },
  };
};

/** A private apt configuration: only Debian 13's main archive, lists and caches in `work`, no locks, no hooks. */
const aptConfig = (work) => {
  mkdirSync(join(work, 'sources.list.d'));
  mkdirSync(join(work, 'lists', 'partial'), { recursive: true });
  mkdirSync(join(work, 'cache', 'archives', 'partial'), { recursive: true });
  writeFileSync(join(work, 'sources.list'), `deb [signed-by=${keyring}] http://deb.debian.org/debian ${suite} main\n`);
  const config = [
    `Dir::Etc::sourcelist "${join(work, 'sources.list')}";`,
    `Dir::Etc::sourceparts "${join(work, 'sources.list.d')}";`,
    `Dir::State::Lists "${join(work, 'lists')}";`,
    `Dir::Cache "${join(work, 'cache')}";`,
    // No installed packages: apt must not fall back to the system's own versions.
    'Dir::State::status "/dev/null";',
    'Debug::NoLocking "true";',
    'APT::Architectures { "amd64"; };',
    'Acquire::Languages "none";',
    // The system's update hooks (PackageKit, AppStream) are about the system's lists, not these.
    '#clear APT::Update::Pre-Invoke;',
    '#clear APT::Update::Post-Invoke;',
    '#clear APT::Update::Post-Invoke-Success;',
    // As root apt would fetch as the _apt user, who cannot enter this private (0700) folder.
    ...(process.getuid?.() === 0 ? ['APT::Sandbox::User "root";'] : []),
  ];
  writeFileSync(join(work, 'apt.conf'), `${config.join('\n')}\n`);
  return join(work, 'apt.conf');
};

/**
 * Downloads Debian 13's glibc packages and unpacks them into `target` (which
 * must not exist yet). Returns the unpacked packages' file names, or throws
 * with the reason.
 */
const fetchGlibc = (target) => {
  const work = mkdtempSync(join(tmpdir(), 'jobtrail-glibc-'));
  try {
    const conf = aptConfig(work);
    const update = run('apt-get', ['-c', conf, '-qq', '--error-on=any', 'update']);
    if (!update.ok) throw new Error(`apt-get update (${suite}) failed: ${tail(update.output, 2)}`);
    const debs = join(work, 'debs');
    mkdirSync(debs);
    const download = run('apt-get', ['-c', conf, '-qq', 'download', ...packages], { cwd: debs });
    if (!download.ok) throw new Error(`apt-get download ${packages.join(' ')} failed: ${tail(download.output, 2)}`);
    const files = readdirSync(debs).filter((f) => f.endsWith('.deb'));
    if (files.length !== packages.length) throw new Error(`apt-get download fetched ${files.join(', ') || 'nothing'}`);
    mkdirSync(target, { recursive: true });
    for (const file of files) {
      const unpack = run('dpkg-deb', ['-x', join(debs, file), target]);
      if (!unpack.ok) throw new Error(`dpkg-deb -x ${file} failed: ${tail(unpack.output)}`);
    }
    return files;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
};

/** The glibc version in a cache folder, from its marker ("2.41"), or undefined when the folder is not complete. */
const cachedGlibc = (dir) => {
  try {
    const marker = JSON.parse(readFileSync(join(dir, markerName), 'utf8'));
    return existsSync(loaderFor(dir).command) ? marker.glibc : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Fills the cache folder: unpacks into a sibling folder, writes the marker
 * there last, then renames it into place (so an interrupted run leaves no
 * marker and is redone, and two cold runs at once do not mix files).
 */
const fillCache = (dir) => {
  const staging = `${dir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    const files = fetchGlibc(staging);
    const glibc = /^libc6_(\d+\.\d+)/.exec(files.find((f) => f.startsWith('libc6_')) ?? '')?.[1] ?? 'unknown';
    writeFileSync(join(staging, markerName), `${JSON.stringify({ glibc, packages: files, fetched: new Date().toISOString() }, null, 2)}\n`);
    rmSync(dir, { recursive: true, force: true });
    try {
      renameSync(staging, dir);
    } catch (err) {
      // Another run filled it meanwhile: use theirs.
      if (cachedGlibc(dir) === undefined) throw err;
    }
    return glibc;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
};

/**
 * How to launch node for the parity test: `{ command, args, env }`, the
 * command and the arguments to put before node's own (systemNode when this
 * system's glibc is new enough), or `{ error }` with the reason and the fix
 * when a new enough glibc cannot be provided.
 */
export const provisionGlibc = ({ cacheDir = glibcCacheDir() } = {}) => {
  const system = systemGlibc();
  if (process.platform !== 'linux' || (system !== undefined && !older(system, minGlibc))) {
    console.log(`provision: system glibc ${system ?? '(none)'} is enough for the parity test`);
    return systemNode;
  }
  const needs = `the parity test needs glibc >= ${minGlibc} (this system has ${system ?? 'no glibc'})`;
  const fix = `allow HTTP access to deb.debian.org (apt-get fetches Debian 13's libc6 into ${cacheDir}) and rerun, or run the tests on a system with glibc >= ${minGlibc}, e.g. Debian 13`;
  if (arch() !== 'x64')
    return {
      error: `${needs}, and Debian 13's glibc is only fetched for x86_64 (this is ${arch()}); fix: run on x86_64 or on glibc >= ${minGlibc}`,
    };
  const cached = cachedGlibc(cacheDir);
  if (cached !== undefined) {
    console.log(`provision: glibc ${cached} runtime for the parity test cached in ${cacheDir}`);
    return loaderFor(cacheDir);
  }
  const missing = ['apt-get', 'dpkg-deb'].filter((command) => spawnSync(command, ['--version'], { stdio: 'ignore' }).error);
  if (missing.length > 0)
    return {
      error: `${needs}, and it is fetched from Debian with apt-get and dpkg-deb, but ${missing.join(' and ')} cannot be found; fix: run the tests on Debian or on a system with glibc >= ${minGlibc}`,
    };
  if (!existsSync(keyring))
    return {
      error: `${needs}, and Debian's ${suite} archive key ${keyring} is missing; fix: apt-get install debian-archive-keyring, or ${fix}`,
    };
  console.log(`provision: ${needs}: fetching Debian 13's ${packages.join(', ')} with a private apt state into ${cacheDir}`);
  const started = Date.now();
  try {
    const glibc = fillCache(cacheDir);
    console.log(`provision: glibc ${glibc} runtime for the parity test cached in ${cacheDir} (fetched in ${seconds(started)})`);
    return loaderFor(cacheDir);
  } catch (err) {
    return { error: `${needs}, and fetching it failed: ${err instanceof Error ? err.message : String(err)}; fix: ${fix}` };
  }
};
