/**
 * `npm run bench`: jobtrail side by side with its two strongest Node peers,
 * in one run, on the same job counts, with a no-op action.
 *
 * Systems: jobtrail embedded (SQLite file + in-process broker), jobtrail on
 * RabbitMQ (SQLite file + local RabbitMQ), BullMQ (local Redis), Graphile
 * Worker default and batched (local PostgreSQL), and raw amqplib on the same
 * RabbitMQ as the ceiling. Each run of each scenario is a fresh child process
 * (`node --import tsx bench/support/child.ts`) on fresh names (queue, schema,
 * store file) that it deletes afterwards, so its peak RSS is its own. The
 * child runs both the producer and the worker: jobtrail's embedded mode can
 * only be one process (its broker is in-process), so every system is run the
 * same way. Runs are interleaved (round 1 of every system, then round 2…) so
 * that a drift in the machine's load hits every system alike, and each run
 * waits for the machine to be quiet first.
 *
 * Scenarios (each run once per round, `--runs` rounds, default 3):
 * - enqueue bulk (batches of 1,000; jobtrail has no bulk API: 1,000
 *   concurrent `enqueue` calls per batch), then drain that backlog at c=100;
 * - enqueue one by one (sequential awaits), then drain at c=10;
 * - a backlog drained at c=1 (a smaller count: `--c1-jobs`);
 * - end to end at c=100 (worker first; first enqueue to last recorded
 *   completion), bulk and one by one;
 * - enqueue-to-start latency at a steady 2,000 jobs/s from an open-loop
 *   producer (a fixed clock; latency counted from each job's scheduled time).
 *
 * Default counts: 50,000 jobs per section, as the issue asks (10,000 at
 * c=1; 10 s of latency load after 2 s of warm-up). On this 2-core machine one
 * round of every system at that count takes about a quarter of an hour (the
 * one-by-one sections of jobtrail's RabbitMQ mode and of Graphile Worker run
 * at 600–900 jobs/s), so the default three rounds take about 45 minutes.
 * `--jobs 5000` (or BENCH_JOBS=5000) makes a run of about 12 minutes;
 * `--quick` is a smoke run: 1,000 jobs, 3 s of latency load, 1 round.
 *
 * Durability (issue 24): every system is labelled with what a job it
 * acknowledged survives, read from the servers where it depends on their
 * configuration (Redis's persistence, PostgreSQL's fsync), and compared within
 * its class: `synced` (fsynced before the acknowledgement: survives a power
 * loss) or `unsynced` (a power loss, or for a Redis that keeps nothing on
 * disk a restart of Redis, may lose it). jobtrail embedded runs at
 * `synchronous=full` (synced) and at `synchronous=normal` (unsynced). If
 * `redis-server` is on PATH, the bench starts a second one (another port, a
 * temporary directory, `appendonly yes`, `appendfsync always`) for "BullMQ AOF
 * always", the synced class's Redis peer, and stops it at the end.
 *
 * Figures: median (min–max) over the rounds; the table, then the ratios within
 * each durability class, the targets, and the same in JSON under
 * bench/results/bench-<timestamp>.json.
 */
import { randomBytes } from 'node:crypto';
import { bullmqVersion, checkPostgres, checkRabbit, checkRedis, startRedisAof, type ServiceCheck } from './support/services.js';
import { parseBenchArgs, positiveInt } from './support/args.js';
import { cell, num, table } from './support/format.js';
import { machine, sourceState, writeResults } from './support/results.js';
import { compileChild, removeBuild } from './support/compile.js';
import { runInChild } from './support/runChild.js';
import { spread, type Spread } from './support/stats.js';
import { waitForQuiet } from './support/quiet.js';
import type { Scenario } from './support/scenarios.js';
import {
  durabilityClasses,
  SystemNames,
  type Durability,
  type DurabilityClass,
  type SystemDefinition,
  type SystemName,
} from './support/system.js';
import { systems } from './systems/index.js';

const usage = `npm run bench -- [options]

  --jobs N              jobs per section (default 50000; env BENCH_JOBS)
  --c1-jobs N           jobs of the backlog drained at concurrency 1 (default jobs/5)
  --latency-rate N      offered load of the latency run, jobs/s (default 2000)
  --latency-seconds N   length of the latency run after the warm-up (default 10)
  --warmup-seconds N    warm-up of the latency run, not counted (default 2)
  --runs N              rounds; every figure is the median of them (default 3)
  --systems a,b         only these (${systems.map((s) => s.name).join(', ')})
  --scenarios a,b       only these (bulk, one, c1, e2eBulk, e2eOne, latency)
  --quick               smoke run: 1000 jobs, 3 s of latency load, 1 round
  --no-wait-quiet       do not wait for the machine to be quiet before each run
  --read-side           jobtrail's workers fold the projections during every section, as a worker running
                        longer than 15 s does (its sweeper opens the read side; the dashboard at once)`;

const args = parseBenchArgs(
  {
    jobs: { type: 'string' },
    'c1-jobs': { type: 'string' },
    'latency-rate': { type: 'string' },
    'latency-seconds': { type: 'string' },
    'warmup-seconds': { type: 'string' },
    runs: { type: 'string' },
    systems: { type: 'string' },
    scenarios: { type: 'string' },
    quick: { type: 'boolean' },
    'no-wait-quiet': { type: 'boolean' },
    'read-side': { type: 'boolean' },
  },
  usage,
);
// Read by bench/systems/jobtrail.ts in each child (forked with this environment).
if (args['read-side'] === true) process.env['BENCH_READ_SIDE'] = '1';

const quick = args.quick === true;
const jobs = positiveInt('--jobs', args.jobs ?? process.env['BENCH_JOBS'], quick ? 1000 : 50_000);
const config = {
  jobs,
  c1Jobs: positiveInt('--c1-jobs', args['c1-jobs'], Math.max(100, Math.round(jobs / 5))),
  latencyRate: positiveInt('--latency-rate', args['latency-rate'], 2000),
  latencySeconds: positiveInt('--latency-seconds', args['latency-seconds'], quick ? 3 : 10),
  warmupSeconds: positiveInt('--warmup-seconds', args['warmup-seconds'], quick ? 1 : 2),
  runs: positiveInt('--runs', args.runs, quick ? 1 : 3),
  quick,
  readSide: args['read-side'] === true,
  batchSize: 1000,
  /** A phase slower than this (jobs/s) is cut off: every run is bounded in time. */
  slowestRate: 25,
};

/** The scenarios, and which figures each yields. */
interface Plan {
  readonly key: string;
  readonly title: string;
  readonly scenario: Scenario;
}

const allPlans: readonly Plan[] = [
  {
    key: 'bulk',
    title: 'enqueue bulk, then drain at c=100',
    scenario: { kind: 'enqueueDrain', n: config.jobs, enqueue: 'bulk', concurrency: 100 },
  },
  {
    key: 'one',
    title: 'enqueue one by one, then drain at c=10',
    scenario: { kind: 'enqueueDrain', n: config.jobs, enqueue: 'one', concurrency: 10 },
  },
  { key: 'c1', title: 'drain at c=1', scenario: { kind: 'enqueueDrain', n: config.c1Jobs, enqueue: 'bulk', concurrency: 1 } },
  { key: 'e2eBulk', title: 'end to end, bulk, c=100', scenario: { kind: 'e2e', n: config.jobs, enqueue: 'bulk', concurrency: 100 } },
  { key: 'e2eOne', title: 'end to end, one by one, c=100', scenario: { kind: 'e2e', n: config.jobs, enqueue: 'one', concurrency: 100 } },
  {
    key: 'latency',
    title: `latency at ${config.latencyRate}/s, c=100`,
    scenario: {
      kind: 'latency',
      rate: config.latencyRate,
      seconds: config.latencySeconds + config.warmupSeconds,
      warmupSeconds: config.warmupSeconds,
      concurrency: 100,
    },
  },
];

const onlyScenarios = args.scenarios?.split(',').map((s) => s.trim());
const unknownScenario = onlyScenarios?.find((key) => !allPlans.some((p) => p.key === key));
if (unknownScenario !== undefined) {
  console.error(`--scenarios: unknown scenario ${JSON.stringify(unknownScenario)}; known: ${allPlans.map((p) => p.key).join(', ')}`);
  process.exit(2);
}
const plans = onlyScenarios ? allPlans.filter((p) => onlyScenarios.includes(p.key)) : allPlans;

/** The figures of the table, in order: [key, label, unit, higher is better]. */
const metrics = [
  ['enqueueBulk', `enqueue bulk (batches of ${config.batchSize}), jobs/s`, 'rate'],
  ['enqueueOne', 'enqueue one by one, jobs/s', 'rate'],
  ['drainC1', `process a backlog at c=1 (${config.c1Jobs} jobs), jobs/s`, 'rate'],
  ['drainC10', 'process a backlog at c=10, jobs/s', 'rate'],
  ['drainC100', 'process a backlog at c=100, jobs/s', 'rate'],
  ['e2eBulk', 'end to end c=100, bulk, jobs/s', 'rate'],
  ['e2eOne', 'end to end c=100, one by one, jobs/s', 'rate'],
  ['latP50', `latency p50 at ${config.latencyRate}/s, ms`, 'ms'],
  ['latP90', 'latency p90, ms', 'ms'],
  ['latP99', 'latency p99, ms', 'ms'],
  ['latMax', 'latency max, ms', 'ms'],
  ['latAchieved', 'latency run: completed, jobs/s', 'rate'],
  ['rssE2eBulk', 'peak RSS, end to end bulk c=100, MB', 'mb'],
  ['cpuE2eBulk', 'node process CPU per job, end to end bulk c=100, µs', 'us'],
  ['rssLatency', 'peak RSS, latency run, MB', 'mb'],
  ['rssMax', 'peak RSS, any run, MB', 'mb'],
] as const;
type MetricKey = (typeof metrics)[number][0];

const log = (line: string) => console.log(line);

const main = async () => {
  const started = Date.now();
  const sourceAtStart = sourceState();
  log(
    `jobtrail bench: ${config.jobs} jobs per section, ${config.c1Jobs} at c=1, latency ${config.latencySeconds} s at ${config.latencyRate}/s after ${config.warmupSeconds} s of warm-up, ${config.runs} round(s)${quick ? ' (quick)' : ''}`,
  );

  const only = args.systems?.split(',').map((s) => s.trim());
  const selected = systems.filter((system) => !only || only.includes(system.name));
  // The synced Redis is started only when a selected system needs it, and stopped at the end (stopRedisAof).
  const redisAof = selected.some((system) => system.needs.includes('redisAof'))
    ? await startRedisAof()
    : { check: { ok: false, why: 'not selected' }, stop: async () => undefined };
  stopRedisAof = redisAof.stop;
  const checks: Record<'redis' | 'postgres' | 'rabbitmq' | 'redisAof', ServiceCheck> = {
    redis: await checkRedis(),
    postgres: await checkPostgres(),
    rabbitmq: await checkRabbit(),
    redisAof: redisAof.check,
  };
  if (redisAof.check.ok) log(`  Redis with appendfsync always for BullMQ AOF always: ${redisAof.check.why ?? ''}`);
  const skipped: Record<string, string> = {};
  const active: SystemDefinition[] = [];
  for (const system of systems) {
    if (only && !only.includes(system.name)) continue;
    const missing = system.needs.map((n) => checks[n]).find((c) => !c.ok);
    if (missing) {
      skipped[system.name] = missing.why ?? 'a service is missing';
      log(`  SKIPPED ${system.label}: ${skipped[system.name]}`);
    } else active.push(system);
  }
  if (active.length === 0) throw new Error('no system can run: see the reasons above');

  // Issue 24: what each system's acknowledged jobs survive, read from its server where that is configured there.
  const durability = new Map<SystemName, Durability>();
  for (const system of active) {
    let d = system.durability;
    if (system.probeDurability)
      d = await system
        .probeDurability()
        .catch((error: unknown) => ({ ...d, how: `${d.how}; reading it failed: ${(error as Error).message}` }));
    durability.set(system.name, d);
  }
  const classOf = (name: SystemName): DurabilityClass | undefined => durability.get(name)?.class;
  log('');
  log(
    config.readSide
      ? "jobtrail's workers fold the projections during every section (--read-side)."
      : "jobtrail's workers run without folding the projections: each section is shorter than the 15 s after which a worker's sweeper opens the read side (--read-side measures with it).",
  );
  log('Durability (what a job the system acknowledged survives):');
  for (const [c, text] of Object.entries(durabilityClasses)) {
    log(`  ${c} (${text}):`);
    for (const system of active.filter((x) => classOf(x.name) === c)) log(`    ${system.label}: ${durability.get(system.name)!.how}`);
  }
  log('');

  const values = new Map<SystemName, Map<MetricKey, number[]>>();
  const record = (system: SystemName, key: MetricKey, value: number | undefined) => {
    if (value === undefined || !Number.isFinite(value)) return;
    let bySystem = values.get(system);
    if (!bySystem) values.set(system, (bySystem = new Map()));
    bySystem.set(key, [...(bySystem.get(key) ?? []), value]);
  };
  const runs: unknown[] = [];
  const failures: { system: string; scenario: string; round: number; error: string }[] = [];

  const compiledChild = compileChild();
  for (let round = 1; round <= config.runs; round++) {
    for (const plan of plans) {
      for (const system of active) {
        const quiet = args['no-wait-quiet'] === true ? undefined : await waitForQuiet({ maxWaitMs: 10_000, log });
        const runId = randomBytes(4).toString('hex');
        const n = plan.scenario.kind === 'latency' ? plan.scenario.rate * plan.scenario.seconds : plan.scenario.n;
        const timeoutMs = 2 * (n / config.slowestRate) * 1000 + 120_000;
        const t0 = Date.now();
        const outcome = await runInChild(
          { system: system.name, runId, scenario: plan.scenario, slowestRate: config.slowestRate },
          { timeoutMs, compiledChild },
        );
        const wall = ((Date.now() - t0) / 1000).toFixed(1);
        if (!outcome.ok) {
          failures.push({ system: system.name, scenario: plan.key, round, error: outcome.error });
          log(`  round ${round} ${plan.title.padEnd(40)} ${system.label.padEnd(18)} FAILED (${wall} s): ${outcome.error.split('\n')[0]}`);
          await system.cleanup(runId).catch((error: unknown) => log(`    cleanup of run ${runId} failed: ${(error as Error).message}`));
          continue;
        }
        const r = outcome.result;
        runs.push({ round, system: system.name, scenario: plan.key, runId, cpuBusyBefore: quiet?.busy, quiet: quiet?.quiet, ...outcome });
        record(system.name, 'rssMax', outcome.peakRssMb);
        let shown = '';
        switch (plan.key) {
          case 'bulk':
            record(system.name, 'enqueueBulk', r.enqueueRate);
            record(system.name, 'drainC100', r.drainRate);
            shown = `enqueue ${num(r.enqueueRate ?? NaN)}/s, drain ${num(r.drainRate ?? NaN)}/s`;
            break;
          case 'one':
            record(system.name, 'enqueueOne', r.enqueueRate);
            record(system.name, 'drainC10', r.drainRate);
            shown = `enqueue ${num(r.enqueueRate ?? NaN)}/s, drain ${num(r.drainRate ?? NaN)}/s`;
            break;
          case 'c1':
            record(system.name, 'drainC1', r.drainRate);
            shown = `drain ${num(r.drainRate ?? NaN)}/s`;
            break;
          case 'e2eBulk':
            record(system.name, 'e2eBulk', r.e2eRate);
            record(system.name, 'rssE2eBulk', outcome.peakRssMb);
            record(system.name, 'cpuE2eBulk', outcome.cpuUsPerJob);
            shown = `${num(r.e2eRate ?? NaN)}/s`;
            break;
          case 'e2eOne':
            record(system.name, 'e2eOne', r.e2eRate);
            shown = `${num(r.e2eRate ?? NaN)}/s`;
            break;
          case 'latency': {
            const l = r.latency;
            if (l) {
              record(system.name, 'latP50', l.p50);
              record(system.name, 'latP90', l.p90);
              record(system.name, 'latP99', l.p99);
              record(system.name, 'latMax', l.max);
              record(system.name, 'latAchieved', l.achievedRate);
              shown = `p50 ${num(l.p50)} p99 ${num(l.p99)} max ${num(l.max)} ms, ${l.completed}/${l.scheduled} done at ${num(l.achievedRate)}/s`;
            }
            record(system.name, 'rssLatency', outcome.peakRssMb);
            break;
          }
        }
        const noisy = quiet && !quiet.quiet ? ' [noisy: the machine was busy]' : '';
        log(
          `  round ${round} ${plan.title.padEnd(40)} ${system.label.padEnd(18)} ${shown}, peak RSS ${outcome.peakRssMb} MB (${wall} s)${noisy}`,
        );
      }
    }
  }

  const summary: Record<string, Record<string, Spread | undefined>> = {};
  for (const system of active) {
    summary[system.name] = Object.fromEntries(metrics.map(([key]) => [key, spread(values.get(system.name)?.get(key) ?? [])]));
  }
  const get = (system: SystemName, key: MetricKey) => summary[system]?.[key];

  log('');
  log(`Figures: median (min–max) of ${config.runs} round(s); ${config.jobs} jobs per section.`);
  log(
    table(
      ['', ...active.map((s) => s.label)],
      [
        ['durability class', ...active.map((s) => classOf(s.name) ?? '?')],
        ...metrics.map(([key, label]) => [label, ...active.map((s) => cell(get(s.name, key)))]),
      ],
    ),
  );
  log(`(durability: ${active.map((s) => `${s.label}: ${durability.get(s.name)?.how ?? '?'}`).join('; ')})`);
  for (const [name, why] of Object.entries(skipped)) log(`${name}: skipped — ${why}`);

  // Ratios of medians, measured in this one run, each jobtrail system against the peers of its durability class.
  const ratio = (a: Spread | undefined, b: Spread | undefined) => (a && b && b.median > 0 ? a.median / b.median : undefined);
  const show = (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(3)}×`);
  const throughput = ['enqueueBulk', 'enqueueOne', 'drainC1', 'drainC10', 'drainC100', 'e2eBulk', 'e2eOne'] as const;
  const jobtrails: readonly SystemName[] = [SystemNames.jobtrailEmbedded, SystemNames.jobtrailEmbeddedNormal, SystemNames.jobtrailRabbit];
  const peersOf = (c: DurabilityClass) => active.filter((s) => !jobtrails.includes(s.name) && classOf(s.name) === c);
  const ratios: Record<string, Record<string, Record<string, number | undefined>>> = {};
  for (const c of Object.keys(durabilityClasses) as DurabilityClass[]) {
    const mine = active.filter((s) => jobtrails.includes(s.name) && classOf(s.name) === c);
    const peers = peersOf(c);
    if (mine.length === 0) continue;
    const rows: string[][] = [];
    for (const jt of mine) {
      ratios[jt.name] ??= {};
      for (const key of throughput) {
        if (get(jt.name, key) === undefined) continue;
        const r: Record<string, number | undefined> = {};
        for (const p of peers) r[p.name] = ratio(get(jt.name, key), get(p.name, key));
        const best = peers
          .map((p) => ({ p, s: get(p.name, key) }))
          .filter((x) => x.s !== undefined)
          .sort((a, b) => b.s!.median - a.s!.median)[0];
        r['bestInClass'] = ratio(get(jt.name, key), best?.s);
        ratios[jt.name]![key] = r;
        rows.push([`${jt.label} ${key}`, ...peers.map((p) => show(r[p.name])), `${show(r['bestInClass'])} (${best?.p.label ?? 'none'})`]);
      }
    }
    log('');
    log(`Ratios of medians within the ${c} class (jobtrail / peer; > 1 means jobtrail is faster):`);
    log(peers.length === 0 ? '  no peer of this class ran' : table(['', ...peers.map((p) => `/ ${p.label}`), '/ best in class'], rows));
  }

  // The project's targets (issue 24's table).
  const targets: { target: string; value: string; met: boolean | undefined }[] = [];
  const times = (x: number) => `${x.toFixed(3)}×`;
  const against = (target: string, jt: SystemName, key: MetricKey, peer: SystemName, threshold: number) => {
    const value = ratio(get(jt, key), get(peer, key));
    const a = get(jt, key);
    const b = get(peer, key);
    targets.push({
      target,
      value: value === undefined ? 'n/a' : `${num(a!.median)} / ${num(b!.median)} = ${times(value)}`,
      met: value === undefined ? undefined : value >= threshold,
    });
  };
  const atMost = (target: string, value: Spread | undefined, limit: Spread | number | undefined, unit: string, slack = 0) => {
    const l = typeof limit === 'number' ? limit : limit?.median;
    targets.push({
      target,
      value:
        value === undefined || l === undefined
          ? 'n/a'
          : `${num(value.median)} ${unit} vs ${num(l)}${slack > 0 ? ` + ${slack}` : ''} ${unit}`,
      met: value === undefined || l === undefined ? undefined : value.median <= l + slack,
    });
  };
  const J = SystemNames;
  against(
    'embedded full, end to end bulk c=100 ≥ 1.0× Graphile batched (both synced)',
    J.jobtrailEmbedded,
    'e2eBulk',
    J.graphileBatched,
    1,
  );
  against('embedded normal, end to end bulk c=100 ≥ 1.5× BullMQ (both unsynced)', J.jobtrailEmbeddedNormal, 'e2eBulk', J.bullmq, 1.5);
  against('embedded normal, end to end one by one ≥ 1.0× BullMQ (both unsynced)', J.jobtrailEmbeddedNormal, 'e2eOne', J.bullmq, 1);
  against('RabbitMQ mode (full), end to end bulk c=100 ≥ 1.0× BullMQ', J.jobtrailRabbit, 'e2eBulk', J.bullmq, 1);
  against('RabbitMQ mode (full), end to end bulk c=100 ≥ 0.6× raw amqplib', J.jobtrailRabbit, 'e2eBulk', J.rawRabbit, 0.6);
  atMost('RabbitMQ mode, node CPU per job (end to end bulk) ≤ 40 µs', get(J.jobtrailRabbit, 'cpuE2eBulk'), 40, 'µs');
  atMost(
    `RabbitMQ mode, p99 at ${config.latencyRate}/s ≤ BullMQ p99 + 2 ms`,
    get(J.jobtrailRabbit, 'latP99'),
    get(J.bullmq, 'latP99'),
    'ms',
    2,
  );
  for (const jt of jobtrails)
    if (summary[jt])
      atMost(
        `${systems.find((x) => x.name === jt)!.label}, peak RSS (end to end bulk) ≤ BullMQ's`,
        get(jt, 'rssE2eBulk'),
        get(J.bullmq, 'rssE2eBulk'),
        'MB',
      );
  log('');
  log('Targets:');
  log(
    table(
      ['target', 'measured', 'met'],
      targets.map((t) => [t.target, t.value, t.met === undefined ? 'n/a' : t.met ? 'yes' : 'NO']),
    ),
  );
  if (failures.length > 0) {
    log('');
    log(`${failures.length} run(s) failed:`);
    for (const f of failures) log(`  ${f.system} ${f.scenario} round ${f.round}: ${f.error.split('\n')[0]}`);
  }

  const path = writeResults('bench', {
    kind: 'bench',
    startedAt: new Date(started).toISOString(),
    durationSeconds: Math.round((Date.now() - started) / 1000),
    config,
    machine: machine(),
    source: { atStart: sourceAtStart, atEnd: sourceState() },
    versions: { bullmq: bullmqVersion() },
    services: checks,
    durability: Object.fromEntries(durability),
    skipped,
    metrics: metrics.map(([key, label, unit]) => ({ key, label, unit })),
    summary,
    ratios,
    targets,
    failures,
    runs,
  });
  log('');
  log(`Written to ${path} (${Math.round((Date.now() - started) / 60_000)} min).`);
};

/** Stops the Redis the bench started for BullMQ AOF always, if it did. */
let stopRedisAof: () => Promise<void> = async () => undefined;

main()
  .finally(async () => {
    await stopRedisAof();
    removeBuild();
  })
  .catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  });
