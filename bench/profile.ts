/**
 * Profiles jobtrail's end-to-end path (both modes): not an npm script, run it
 * as `node --import tsx bench/profile.ts [--jobs N]` (or `npx tsx …`).
 *
 * 1. Compiles the repository with tsc into bench/results/build/ (tsx's output
 *    is minified and nameless, which makes a CPU profile unreadable), runs
 *    end to end bulk and one by one at c=100 in a child process under
 *    `node --cpu-prof`, and prints the top self-time functions and the
 *    self time by area (SQLite, io-ts, JSON, amqplib, each src/ folder, GC…).
 *    The .cpuprofile files stay in bench/results/profiles/ (open them in
 *    Chrome DevTools).
 * 2. Prints what the counting proxies around the store and the broker saw
 *    per job: appends, reads, events read, subscription deliveries,
 *    publishes, deliveries.
 * 3. Profiles end to end bulk again under tsx, as `npm run bench` runs it,
 *    and prints the time of tsx's `__name` helper (esbuild's keepNames: an
 *    Object.defineProperty for each named closure made) and where the
 *    closures were made: the tsc build of step 1 cannot show that cost.
 * 4. Measures two what-ifs that need no change in src/ (they are set only
 *    here, through environment variables the child reads): TCP_NODELAY on the
 *    AMQP socket, and SQLite `synchronous = NORMAL` instead of FULL.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseBenchArgs, positiveInt } from './support/args.js';
import { num, table } from './support/format.js';
import { machine, resultsDir, sourceState, writeResults } from './support/results.js';
import { compileChild, removeBuild } from './support/compile.js';
import { runInChild } from './support/runChild.js';
import type { Scenario } from './support/scenarios.js';
import { SystemNames, type SystemName } from './support/system.js';
import { systemNamed } from './systems/index.js';

const usage = `node --import tsx bench/profile.ts [--jobs N] [--runs N] [--no-what-ifs]

  --jobs N        jobs per profiled run (default 5000)
  --runs N        runs per what-if figure (default 3)
  --no-what-ifs   only the profiles and the counts`;
const args = parseBenchArgs({ jobs: { type: 'string' }, runs: { type: 'string' }, 'no-what-ifs': { type: 'boolean' } }, usage);
const jobs = positiveInt('--jobs', args.jobs, 5000);
const runs = positiveInt('--runs', args.runs, 3);
const repo = new URL('../', import.meta.url).pathname;
/** A profile's file URL as a path in the repository (the compiled copy shown as its source). */
const shown = (url: string) =>
  relative(repo, url.replace(/^file:\/\//, ''))
    .replace(/^bench\/results\/build\//, '')
    .replace(/\.js$/, '.ts');

interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly CpuProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** Where a function lives, coarsely: a package, a src/ folder, node itself, or V8's pseudo-frames. */
const areaOf = (url: string, name: string): string => {
  if (url === '') {
    if (name === '(garbage collector)' || name === '(program)' || name === '(idle)') return name;
    return `native: ${name}`;
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg !== undefined) return pkg;
  const src = /\/src\/([^/]+)/.exec(url)?.[1];
  if (src !== undefined) return `src/${src.replace(/\.ts$/, '.ts')}`;
  if (url.includes('/bench/')) return 'bench harness';
  if (url.startsWith('node:')) return `node: ${url.slice(5).split('/')[0]}`;
  return url;
};

/** A profile's nodes by id, each node's parent, its self time in ms, and the total and busy (not idle) time. */
const indexProfile = (profile: CpuProfile) => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + ((profile.timeDeltas[i] ?? 0) as number) / 1000);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self.entries()].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, v]) => a + v, 0);
  return { byId, parent, self, totalMs: total, busyMs: total - idle };
};

const analyse = (profile: CpuProfile) => {
  const { byId, parent, self, totalMs, busyMs } = indexProfile(profile);
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, ms] of self) {
    const f = byId.get(id)?.callFrame;
    if (!f) continue;
    const where = f.url === '' ? '' : `${shown(f.url)}:${f.lineNumber + 1}`;
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
    const area = areaOf(f.url, f.functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + ms);
  }
  // Inclusive time of chosen src/ functions (counted once per sample even when recursive).
  const inclusive = new Map<string, number>();
  for (const [id, ms] of self) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)?.callFrame;
      if (!f || !/\/(src|node_modules\/(better-sqlite3|io-ts|fp-ts|amqplib))\//.test(f.url)) continue;
      const key = `${f.functionName || '(anonymous)'} ${shown(f.url)}:${f.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + ms);
    }
  }
  const top = (m: Map<string, number>, k: number) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, k);
  return { totalMs, busyMs, topSelf: top(byFunction, 25), areas: top(byArea, 25), topInclusive: top(inclusive, 30) };
};

const profileDir = join(resultsDir, 'profiles');

/** How a run is profiled: not at all, the tsc build under plain node (readable names), or the sources under tsx as `npm run bench` runs them. */
type Profiling = false | 'compiled' | 'tsx';

/** The tsc build's child.js, made at the start of `main`. */
let compiledChild = '';

const run = async (system: SystemName, scenario: Scenario, env: Record<string, string> = {}, cpuProf: Profiling = false) => {
  const runId = randomBytes(4).toString('hex');
  const dir = join(profileDir, `${system}-${scenario.kind}-${'enqueue' in scenario ? scenario.enqueue : ''}-${runId}`);
  if (cpuProf) mkdirSync(dir, { recursive: true });
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const outcome = await runInChild(
      { system, runId, scenario, slowestRate: 20 },
      {
        timeoutMs: (jobs / 20) * 1000 + 120_000,
        ...(cpuProf ? { execArgv: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '200'] } : {}),
        ...(cpuProf === 'compiled' ? { compiledChild } : {}),
      },
    );
    if (!outcome.ok) {
      await systemNamed(system)
        .cleanup(runId)
        .catch(() => undefined);
      throw new Error(`${system} ${scenario.kind}: ${outcome.error}`);
    }
    const file = cpuProf ? readdirSync(dir).find((f) => f.endsWith('.cpuprofile')) : undefined;
    return { outcome, profilePath: file ? join(dir, file) : undefined };
  } finally {
    for (const key of Object.keys(env)) delete process.env[key];
    Object.assign(process.env, saved);
  }
};

/** Inclusive time of tsx's `__name` helper, and the files whose functions called it most (each named closure they made). */
const namingCost = (profile: CpuProfile) => {
  const { byId, parent, self, busyMs } = indexProfile(profile);
  let ms = 0;
  const callers = new Map<string, number>();
  for (const [id, dt] of self) {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      if (byId.get(at)?.callFrame.functionName !== '__name') continue;
      ms += dt;
      const caller = byId.get(parent.get(at) ?? -1)?.callFrame;
      const where = caller === undefined ? '?' : shown(caller.url);
      callers.set(where, (callers.get(where) ?? 0) + dt);
      break;
    }
  }
  return { ms, busyMs, callers: [...callers.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5) };
};

const main = async () => {
  rmSync(profileDir, { recursive: true, force: true });
  console.log('compiling with tsc into bench/results/build/ …');
  compiledChild = compileChild();
  const report: Record<string, unknown> = {};
  const modes = [SystemNames.jobtrailEmbedded, SystemNames.jobtrailRabbit] as const;
  for (const system of modes) {
    for (const enqueue of ['bulk', 'one'] as const) {
      const scenario: Scenario = { kind: 'e2e', n: jobs, enqueue, concurrency: 100 };
      const { outcome, profilePath } = await run(system, scenario, { BENCH_COUNT: '1' }, 'compiled');
      if (!outcome.ok) continue;
      const perJob = Object.fromEntries(Object.entries(outcome.counters ?? {}).map(([k, v]) => [k, Math.round((v / jobs) * 100) / 100]));
      console.log(
        `\n=== ${system}, end to end ${enqueue}, c=100, ${jobs} jobs: ${num(outcome.result.e2eRate ?? NaN)} jobs/s under --cpu-prof`,
      );
      console.log(
        `per job: ${Object.entries(perJob)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
      if (!profilePath) continue;
      const a = analyse(JSON.parse(readFileSync(profilePath, 'utf8')) as CpuProfile);
      const pct = (ms: number) => `${((ms / a.totalMs) * 100).toFixed(1)}%`;
      const perJobUs = (ms: number) => `${((ms * 1000) / jobs).toFixed(0)} µs/job`;
      console.log(
        `profile: ${relative(repo, profilePath)}; ${Math.round(a.totalMs)} ms sampled, ${Math.round(a.busyMs)} ms busy (${pct(a.busyMs)}), ${perJobUs(a.busyMs)} of CPU`,
      );
      console.log(
        table(
          ['self time by area', 'ms', 'share', 'per job'],
          a.areas.slice(0, 16).map(([k, ms]) => [k, num(ms), pct(ms), perJobUs(ms)]),
        ),
      );
      console.log(
        table(
          ['top self time', 'ms', 'share'],
          a.topSelf.slice(0, 18).map(([k, ms]) => [k.slice(0, 110), num(ms), pct(ms)]),
        ),
      );
      console.log(
        table(
          ['inclusive time (src/ and drivers)', 'ms', 'share'],
          a.topInclusive.slice(0, 22).map(([k, ms]) => [k.slice(0, 110), num(ms), pct(ms)]),
        ),
      );
      report[`${system}/${enqueue}`] = {
        rate: outcome.result.e2eRate,
        counters: outcome.counters,
        perJob,
        profile: relative(repo, profilePath),
        ...a,
      };
    }
  }

  // The tsc build hides what tsx adds: esbuild's keepNames wraps every closure it names in
  // `__name(fn, "name")`, an Object.defineProperty of about a microsecond, paid again each
  // time the closure is made. Closures made per job belong at module level or as methods.
  const keepNames: Record<string, unknown> = {};
  for (const system of modes) {
    const { outcome, profilePath } = await run(system, { kind: 'e2e', n: jobs, enqueue: 'bulk', concurrency: 100 }, {}, 'tsx');
    if (!outcome.ok || !profilePath) continue;
    const n = namingCost(JSON.parse(readFileSync(profilePath, 'utf8')) as CpuProfile);
    const callers = n.callers.map(([where, ms]) => `${where} ${((ms * 1000) / jobs).toFixed(1)} µs/job`).join(', ');
    console.log(
      `\n${system}, end to end bulk under tsx: tsx's __name helper took ${num(n.ms)} ms of ${num(n.busyMs)} ms busy ` +
        `(${((n.ms / n.busyMs) * 100).toFixed(1)}%, ${((n.ms * 1000) / jobs).toFixed(1)} µs/job)${callers === '' ? '' : `; made in ${callers}`}`,
    );
    keepNames[system] = { ...n, profile: relative(repo, profilePath) };
  }
  report['tsxKeepNames'] = keepNames;

  // What-ifs, each against a baseline measured alongside it (same counts, interleaved runs).
  const whatIfs: { name: string; system: SystemName; enqueue: 'bulk' | 'one'; env: Record<string, string> }[] = [
    {
      name: 'SQLite synchronous=NORMAL (WAL)',
      system: SystemNames.jobtrailEmbedded,
      enqueue: 'bulk',
      env: { BENCH_WHATIF_SYNC: 'NORMAL' },
    },
    { name: 'SQLite synchronous=NORMAL (WAL)', system: SystemNames.jobtrailRabbit, enqueue: 'bulk', env: { BENCH_WHATIF_SYNC: 'NORMAL' } },
    { name: 'TCP_NODELAY on the AMQP socket', system: SystemNames.jobtrailRabbit, enqueue: 'one', env: { BENCH_WHATIF_NODELAY: '1' } },
    { name: 'TCP_NODELAY on the AMQP socket', system: SystemNames.jobtrailRabbit, enqueue: 'bulk', env: { BENCH_WHATIF_NODELAY: '1' } },
  ];
  const rows: string[][] = [];
  const whatIfResults: unknown[] = [];
  for (const w of args['no-what-ifs'] === true ? [] : whatIfs) {
    const scenario: Scenario = { kind: 'e2e', n: jobs, enqueue: w.enqueue, concurrency: 100 };
    const base: number[] = [];
    const changed: number[] = [];
    for (let r = 0; r < runs; r++) {
      const b = await run(w.system, scenario);
      if (b.outcome.ok) base.push(b.outcome.result.e2eRate ?? NaN);
      const c = await run(w.system, scenario, w.env);
      if (c.outcome.ok) changed.push(c.outcome.result.e2eRate ?? NaN);
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
    rows.push([`${w.system} e2e ${w.enqueue}: ${w.name}`, num(med(base)), num(med(changed)), `${(med(changed) / med(base)).toFixed(2)}×`]);
    whatIfResults.push({ ...w, base, changed });
    console.log(`  what-if ${w.system} ${w.enqueue} ${w.name}: ${base.map(num).join(', ')} → ${changed.map(num).join(', ')} jobs/s`);
  }
  console.log('');
  console.log(`What-ifs (median of ${runs}, jobs/s, end to end c=100, ${jobs} jobs):`);
  console.log(table(['', 'as is', 'what-if', 'gain'], rows));
  const path = writeResults('profile', {
    kind: 'profile',
    machine: machine(),
    source: sourceState(),
    jobs,
    runs,
    report,
    whatIfs: whatIfResults,
  });
  console.log(`\nWritten to ${path}.`);
};

main()
  // The compiled copy is only for the profile; left there it would be linted as part of bench/.
  .finally(removeBuild)
  .catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  });
