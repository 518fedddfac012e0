/**
 * `npm run bench:bytes`: where the bytes and the memory of the embedded mode
 * go (issue 24). N no-op jobs (default 10,000; `--jobs N`) through jobtrail's
 * embedded mode in this process: enqueued in bulk (`enqueueMany`, batches of
 * 1,000) before the worker starts, then drained at concurrency 100
 * (`--mode e2e`: the worker runs while the jobs are enqueued, as the bench's
 * "end to end bulk").
 *
 * What it prints, per job:
 * - events appended and their bytes (data + metadata), by event type;
 * - commits and WAL bytes. The connection's automatic checkpoints are turned
 *   off for the run (`wal_autocheckpoint = 0`), so the WAL file keeps every
 *   frame written; it is read at the end, and each frame's page is mapped to
 *   the table or index that owns it (SQLite's `dbstat`): WAL bytes per table
 *   and index. Checkpoints copy pages to the database file once more; that is
 *   the database file's size, printed after a final checkpoint;
 * - rows inserted, updated and deleted per table, and their bytes (the sum of
 *   the columns' lengths), counted by temporary triggers on the connection;
 *   the projection tables' rows by projection;
 * - the tables' final sizes (rows, pages, payload);
 * - bytes the process passed to `write()` (`wchar` in /proc/self/io);
 * - peak RSS (the kernel's high-water mark) and heap, sampled every 50 ms.
 *
 * `--projections all|none|<name>,<name>` runs only these projections (default
 * all built-in ones), to measure what each costs by difference.
 * `--heap-snapshot` writes a V8 heap snapshot when the backlog is largest,
 * halfway through the drain and at the end, and prints the constructors that hold the
 * most (self size). `--no-triggers`: no row counting (timing and RSS
 * without the triggers' cost). Times and RSS move with the machine's load;
 * bytes and rows move only with how the commits happen to group.
 * The JSON goes to bench/results/bytes-<timestamp>.json.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics, writeHeapSnapshot } from 'node:v8';
import { createEngine, defineWorker } from '../src/index.js';
import type { StoreBackend } from '../src/backends/index.js';
import { makeMemoryBroker } from '../src/broker/index.js';
import { makeEmbeddedEventStore, makeSqliteLease } from '../src/eventStore/index.js';
import { builtInProjectionFiles, projectionNameOf, runProjections } from '../src/projections/index.js';
import { makeProjectionTables, type SqliteDatabase } from '../src/projections/projectionTables.js';
import { parseBenchArgs, positiveInt } from './support/args.js';
import { now } from './support/clock.js';
import { completionHook } from './support/counting.js';
import { table } from './support/format.js';
import { makePeakRss, mb } from './support/memory.js';
import { machine, sourceState, writeResults } from './support/results.js';
import type { BenchJob } from './support/system.js';

const usage = `npm run bench:bytes -- [options]

  --jobs N              no-op jobs (default 10000)
  --concurrency N       worker concurrency (default 100)
  --mode drain|e2e      drain: enqueue all, then start the worker (default); e2e: the worker runs while enqueueing
  --synchronous full|normal   SQLite durability (default full)
  --projections LIST    all (default), none, or projection names (comma-separated) among the built-in files
  --heap-snapshot       write heap snapshots (largest backlog, mid-drain, end) and print what holds the heap
  --no-triggers         do not count rows written (no trigger cost in the timing, no temporary files in write() bytes)
  --projection-batch N  the projection runtime's batchSize (events per commit at most; default: the runtime's)
  --json                print the result as JSON only`;

const args = parseBenchArgs(
  {
    jobs: { type: 'string' },
    concurrency: { type: 'string' },
    mode: { type: 'string' },
    synchronous: { type: 'string' },
    projections: { type: 'string' },
    'heap-snapshot': { type: 'boolean' },
    'no-triggers': { type: 'boolean' },
    'projection-batch': { type: 'string' },
    json: { type: 'boolean' },
  },
  usage,
);
const fail = (message: string): never => {
  console.error(`${message}\n\n${usage}`);
  process.exit(2);
};
const jobs = positiveInt('--jobs', args.jobs, 10_000);
const concurrency = positiveInt('--concurrency', args.concurrency, 100);
const mode = args.mode ?? 'drain';
if (mode !== 'drain' && mode !== 'e2e') fail(`--mode must be drain or e2e, got ${JSON.stringify(mode)}`);
const synchronous: 'full' | 'normal' =
  args.synchronous === undefined || args.synchronous === 'full'
    ? 'full'
    : args.synchronous === 'normal'
      ? 'normal'
      : fail(`--synchronous must be full or normal, got ${JSON.stringify(args.synchronous)}`);
const projectionFiles = (() => {
  const wanted = args.projections ?? 'all';
  if (wanted === 'all') return builtInProjectionFiles;
  if (wanted === 'none') return [];
  const names = wanted.split(',').map((s) => s.trim());
  const files = builtInProjectionFiles.filter((f) => names.includes(projectionNameOf(f)));
  const unknown = names.filter((n) => !files.some((f) => projectionNameOf(f) === n));
  if (unknown.length > 0)
    fail(
      `--projections: no built-in projection ${unknown.join(', ')} (there are ${builtInProjectionFiles.map(projectionNameOf).join(', ')})`,
    );
  return files;
})();
const countRows = args['no-triggers'] !== true;
const projectionBatch = args['projection-batch'] === undefined ? undefined : positiveInt('--projection-batch', args['projection-batch'], 1);
const batchSize = 1000;

// ---- the process's write() bytes --------------------------------------------------------------
const procIo = (): { wchar: number; syscw: number } | undefined => {
  try {
    const text = readFileSync('/proc/self/io', 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    return { wchar: field('wchar'), syscw: field('syscw') };
  } catch {
    return undefined;
  }
};

// ---- rows written, by table (and projection), through temporary triggers ------------------------
interface RowCounts {
  inserted: number;
  updated: number;
  deleted: number;
  /** Sum of the written rows' column lengths (new values; old values for deletes). */
  bytes: number;
}
const rowCounts = new Map<string, RowCounts>();
const countsOf = (key: string): RowCounts => {
  let c = rowCounts.get(key);
  if (c === undefined) rowCounts.set(key, (c = { inserted: 0, updated: 0, deleted: 0, bytes: 0 }));
  return c;
};
/** The column holding a projection's name in the projection tables: rows are also counted per projection. */
const projectionColumn: Record<string, string> = { projection_partitions: 'projection', projection_states: 'name' };

const installTriggers = (db: SqliteDatabase): void => {
  db.function('jobtrail_bench_row', { deterministic: false, varargs: false }, (key: unknown, op: unknown, bytes: unknown) => {
    const c = countsOf(String(key));
    if (op === 'i') c.inserted += 1;
    else if (op === 'u') c.updated += 1;
    else c.deleted += 1;
    c.bytes += Number(bytes ?? 0);
    return null;
  });
  const tables = db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .all()
    .map((r) => r.name);
  for (const t of tables) {
    const columns = db
      .prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${t}')`)
      .all()
      .map((c) => c.name);
    const size = (row: 'NEW' | 'OLD') => columns.map((c) => `coalesce(length(${row}."${c}"), 0)`).join(' + ');
    const pc = projectionColumn[t];
    const key = (row: 'NEW' | 'OLD') => (pc === undefined ? `'${t}'` : `'${t}/' || ${row}."${pc}"`);
    for (const [when, op, row] of [
      ['INSERT', 'i', 'NEW'],
      ['UPDATE', 'u', 'NEW'],
      ['DELETE', 'd', 'OLD'],
    ] as const) {
      db.exec(
        `CREATE TEMP TRIGGER IF NOT EXISTS "bench_${t}_${op}" AFTER ${when} ON main."${t}"
         BEGIN SELECT jobtrail_bench_row(${key(row)}, '${op}', ${size(row)}); END`,
      );
    }
  }
  // job-view's queryable columns are job-view's rows.
};

// ---- the WAL, frame by frame -------------------------------------------------------------------
interface WalSummary {
  readonly pageSize: number;
  readonly frames: number;
  readonly commits: number;
  readonly bytes: number;
  /** Frames per page number. */
  readonly pages: Map<number, number>;
}
const readWal = (path: string): WalSummary => {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(32);
    if (readSync(fd, header, 0, 32, 0) < 32) return { pageSize: 0, frames: 0, commits: 0, bytes: 0, pages: new Map() };
    const pageSize = header.readUInt32BE(8) === 1 ? 65536 : header.readUInt32BE(8);
    const salt1 = header.readUInt32BE(16);
    const salt2 = header.readUInt32BE(20);
    const size = statSync(path).size;
    const frameHeader = Buffer.alloc(24);
    const pages = new Map<number, number>();
    let frames = 0;
    let commits = 0;
    for (let at = 32; at + 24 + pageSize <= size; at += 24 + pageSize) {
      readSync(fd, frameHeader, 0, 24, at);
      // A frame of an earlier generation of the WAL (after a reset) has other salts: the valid log ends there.
      if (frameHeader.readUInt32BE(8) !== salt1 || frameHeader.readUInt32BE(12) !== salt2) break;
      const page = frameHeader.readUInt32BE(0);
      pages.set(page, (pages.get(page) ?? 0) + 1);
      frames += 1;
      if (frameHeader.readUInt32BE(4) !== 0) commits += 1;
    }
    return { pageSize, frames, commits, bytes: 32 + frames * (24 + pageSize), pages };
  } finally {
    closeSync(fd);
  }
};

// ---- a heap snapshot, summed by constructor ----------------------------------------------------
interface HeapSummary {
  readonly file: string;
  readonly totalMb: number;
  readonly top: ReadonlyArray<{ readonly type: string; readonly name: string; readonly count: number; readonly selfMb: number }>;
}
const summarizeSnapshot = (file: string): HeapSummary => {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = snap.snapshot.meta.node_types[0];
  const byKey = new Map<string, { type: string; name: string; count: number; self: number }>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!] ?? '?';
    // Strings and code are grouped by kind, objects by constructor.
    const name =
      type === 'object' || type === 'closure' || type === 'native' ? (snap.strings[snap.nodes[i + nameAt]!] ?? '?') : `(${type})`;
    const self = snap.nodes[i + sizeAt]!;
    total += self;
    const key = `${type}:${name}`;
    const e = byKey.get(key);
    if (e === undefined) byKey.set(key, { type, name: name.slice(0, 60), count: 1, self });
    else {
      e.count += 1;
      e.self += self;
    }
  }
  const top = [...byKey.values()]
    .sort((a, z) => z.self - a.self)
    .slice(0, 15)
    .map((e) => ({ type: e.type, name: e.name, count: e.count, selfMb: mb(e.self) }));
  return { file, totalMb: mb(total), top };
};

// ---- the run ----------------------------------------------------------------------------------
const main = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jobtrail-bench-bytes-'));
  const file = join(dir, 'events.db');
  const events = makeEmbeddedEventStore({ path: file, synchronous });
  const db = events.database;
  // Every frame stays in the WAL file until the end, where it is read; nothing else checkpoints it.
  db.pragma('wal_autocheckpoint = 0');
  makeProjectionTables(db);
  makeSqliteLease(db, { name: 'jobtrail-bench-bytes', holder: 'bench' });
  if (countRows) installTriggers(db);
  const { database: _database, ...store } = events;
  let completed = 0;
  let wake: (() => void) | undefined;
  // A job counts once its JobCompleted is committed (the same hook as `npm run bench`'s).
  const backend: StoreBackend = completionHook<StoreBackend>(
    {
      ...store,
      openReadSide: async ({ holderId, logger, isHolderGone }) => {
        const runtime = await runProjections({
          store: events,
          files: projectionFiles,
          holderId,
          logger,
          isHolderGone,
          ...(projectionBatch !== undefined ? { batchSize: projectionBatch } : {}),
        });
        return { queries: runtime.queries, runtime, close: () => runtime.stop() };
      },
    },
    () => {
      completed += 1;
      if (completed === jobs) wake?.();
    },
  );
  const broker = makeMemoryBroker();
  const worker = defineWorker<BenchJob>({
    name: 'bench-noop',
    concurrency,
    action: async () => undefined,
  });
  const engine = await createEngine({ store: backend, broker, workers: [worker], recover: false, acceptCommands: false });

  // Memory, sampled through the run.
  const peak = makePeakRss();
  const mem = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0, mallocedMemory: 0 };
  const sampleMemory = () => {
    const m = process.memoryUsage();
    mem.rss = Math.max(mem.rss, m.rss);
    mem.heapUsed = Math.max(mem.heapUsed, m.heapUsed);
    mem.heapTotal = Math.max(mem.heapTotal, m.heapTotal);
    mem.external = Math.max(mem.external, m.external);
    mem.arrayBuffers = Math.max(mem.arrayBuffers, m.arrayBuffers);
    mem.mallocedMemory = Math.max(mem.mallocedMemory, getHeapStatistics().malloced_memory);
  };
  const sampler = setInterval(sampleMemory, 50);
  const snapshots: HeapSummary[] = [];
  const snapshotFiles: string[] = [];
  const snapshot = (label: string) => {
    if (args['heap-snapshot'] !== true) return;
    snapshotFiles.push(writeHeapSnapshot(join(dir, `${label}.heapsnapshot`)));
  };

  const headBefore = (db.prepare('SELECT coalesce(max(position), 0) AS p FROM es_events').get() as { p: number }).p;
  const ioBefore = procIo();
  rowCounts.clear();
  const t0 = now();
  const done = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const enqueueAll = async () => {
    for (let from = 0; from < jobs; from += batchSize) {
      const t = now();
      const batch: BenchJob[] = [];
      for (let i = from; i < Math.min(jobs, from + batchSize); i++) batch.push({ i, t });
      await engine.enqueueMany(batch.map((job) => ({ workerName: 'bench-noop', payload: job })));
    }
  };
  let t1: number;
  let halfway: Promise<void> = Promise.resolve();
  if (mode === 'drain') {
    await enqueueAll();
    t1 = now();
    sampleMemory();
    snapshot('backlog');
    await engine.start();
    if (args['heap-snapshot'] === true)
      halfway = (async () => {
        while (completed < jobs / 2) await new Promise((r) => setTimeout(r, 5));
        snapshot('mid-drain');
      })();
  } else {
    await engine.start();
    t1 = now();
    await enqueueAll();
  }
  await done;
  await halfway;
  const t2 = now();
  // Every job's last event is appended, and the projections have folded them all.
  await engine.projections().then(({ runtime }) => runtime?.caughtUp({ timeoutMs: 120_000 }));
  const t3 = now();
  sampleMemory();
  snapshot('end');
  clearInterval(sampler);
  const ioAfter = procIo();
  const peakRssMb = peak.peakMb();
  peak.stop();
  const heapNow = getHeapStatistics();

  // Measured before the engine closes (it stops the projections, which commit nothing more: they are caught up).
  const eventRows = db
    .prepare<[number], { type: string; n: number; data: number; metadata: number }>(
      `SELECT type, count(*) AS n, sum(length(data)) AS data, sum(coalesce(length(metadata), 0)) AS metadata
       FROM es_events WHERE position > ? GROUP BY type ORDER BY n DESC`,
    )
    .all(headBefore);
  const tableSizes = db
    .prepare<[], { name: string; pages: number; bytes: number; payload: number; unused: number }>(
      `SELECT name, count(*) AS pages, sum(pgsize) AS bytes, sum(payload) AS payload, sum(unused) AS unused FROM dbstat GROUP BY name ORDER BY bytes DESC`,
    )
    .all();
  const pageOwner = new Map<number, string>(
    db
      .prepare<[], { name: string; pageno: number }>('SELECT name, pageno FROM dbstat')
      .all()
      .map((r) => [r.pageno, r.name]),
  );
  const rowsOf = (name: string): number => (db.prepare(`SELECT count(*) AS n FROM "${name}"`).get() as { n: number }).n;
  const tableNames = db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .all()
    .map((r) => r.name);
  const tableRows = Object.fromEntries(tableNames.map((n) => [n, rowsOf(n)]));
  const owners = Object.fromEntries(
    db
      .prepare<[], { name: string; tbl_name: string }>("SELECT name, tbl_name FROM sqlite_schema WHERE type IN ('table', 'index')")
      .all()
      .map((r) => [r.name, r.tbl_name]),
  );
  const wal = readWal(`${file}-wal`);
  const walByBtree = new Map<string, number>();
  for (const [page, frames] of wal.pages) {
    const owner = pageOwner.get(page) ?? (page === 1 ? 'sqlite_schema' : 'free or new pages');
    walByBtree.set(owner, (walByBtree.get(owner) ?? 0) + frames);
  }
  const counts = new Map(rowCounts);

  await engine.close({ gracePeriodMs: 5_000 });
  await broker.close();
  // The store's connection is closed with the engine; a new one checkpoints the WAL into the file.
  const Database = (await import('better-sqlite3')).default;
  const after = new Database(file);
  after.pragma('wal_checkpoint(TRUNCATE)');
  after.close();
  const fileBytes = statSync(file).size;
  for (const f of snapshotFiles) snapshots.push(summarizeSnapshot(f));
  rmSync(dir, { recursive: true, force: true });

  // ---- report ----
  const perJob = (n: number) => n / jobs;
  const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
  const frameBytes = 24 + wal.pageSize;
  const totalEvents = eventRows.reduce((s, r) => s + r.n, 0);
  const eventBytes = eventRows.reduce((s, r) => s + r.data + r.metadata, 0);
  const result = {
    kind: 'bytes',
    config: { jobs, concurrency, mode, synchronous, projections: projectionFiles.map(projectionNameOf), projectionBatch, countRows },
    machine: machine(),
    source: sourceState(),
    seconds: { enqueue: round((t1 - t0) / 1000, 2), drain: round((t2 - t1) / 1000, 2), projectionsCatchUp: round((t3 - t2) / 1000, 2) },
    perJob: {
      events: round(perJob(totalEvents), 2),
      eventBytes: round(perJob(eventBytes)),
      commits: round(perJob(wal.commits), 3),
      walFrames: round(perJob(wal.frames), 2),
      walBytes: round(perJob(wal.bytes)),
      writeBytes: ioBefore && ioAfter ? round(perJob(ioAfter.wchar - ioBefore.wchar)) : undefined,
      writeCalls: ioBefore && ioAfter ? round(perJob(ioAfter.syscw - ioBefore.syscw), 2) : undefined,
      fileBytes: round(perJob(fileBytes)),
    },
    events: eventRows.map((r) => ({ type: r.type, perJob: round(perJob(r.n), 2), bytesEach: round((r.data + r.metadata) / r.n) })),
    walByBtree: [...walByBtree.entries()]
      .sort((a, z) => z[1] - a[1])
      .map(([name, frames]) => ({
        name,
        table: owners[name] ?? name,
        framesPerJob: round(perJob(frames), 3),
        bytesPerJob: round(perJob(frames * frameBytes)),
      })),
    rowsWritten: [...counts.entries()]
      .sort((a, z) => z[1].bytes - a[1].bytes)
      .map(([key, c]) => ({
        key,
        insertedPerJob: round(perJob(c.inserted), 3),
        updatedPerJob: round(perJob(c.updated), 3),
        deletedPerJob: round(perJob(c.deleted), 3),
        bytesPerJob: round(perJob(c.bytes)),
      })),
    tables: tableSizes.map((t) => ({
      ...t,
      table: owners[t.name] ?? t.name,
      rows: tableRows[t.name],
      bytesPerJob: round(perJob(t.bytes)),
      payloadPerJob: round(perJob(t.payload)),
    })),
    memory: {
      peakRssMb: peakRssMb,
      sampledPeakRssMb: mb(mem.rss),
      peakHeapUsedMb: mb(mem.heapUsed),
      peakHeapTotalMb: mb(mem.heapTotal),
      peakExternalMb: mb(mem.external),
      peakArrayBuffersMb: mb(mem.arrayBuffers),
      peakMallocedMb: mb(mem.mallocedMemory),
      heapUsedAtEndMb: mb(heapNow.used_heap_size),
    },
    heapSnapshots: snapshots,
  };
  const path = writeResults('bytes', result);
  if (args.json === true) {
    console.log(JSON.stringify(result));
    return;
  }
  const r = result;
  console.log(
    `jobtrail bench:bytes: ${jobs.toLocaleString('en-US')} no-op jobs, embedded (synchronous=${synchronous}), ${mode === 'drain' ? 'enqueued in bulk, then drained' : 'enqueued in bulk while the worker runs'} at concurrency ${concurrency}; projections: ${r.config.projections.join(', ') || 'none'}${countRows ? '' : ' (rows not counted)'}`,
  );
  console.log(
    `time: enqueue ${r.seconds.enqueue} s, drain ${r.seconds.drain} s, projections caught up ${r.seconds.projectionsCatchUp} s later (a loaded machine moves these)\n`,
  );
  console.log('Per job:');
  console.log(
    table(
      ['events', 'event bytes', 'commits', 'WAL frames', 'WAL bytes', 'write() bytes', 'write() calls', 'db file bytes'],
      [
        [
          String(r.perJob.events),
          String(r.perJob.eventBytes),
          String(r.perJob.commits),
          String(r.perJob.walFrames),
          String(r.perJob.walBytes),
          String(r.perJob.writeBytes ?? 'n/a'),
          String(r.perJob.writeCalls ?? 'n/a'),
          String(r.perJob.fileBytes),
        ],
      ],
    ),
  );
  console.log('\nEvents per job, by type:');
  console.log(
    table(
      ['type', 'per job', 'bytes each (data + metadata)'],
      r.events.map((e) => [e.type, String(e.perJob), String(e.bytesEach)]),
    ),
  );
  console.log(`\nWAL per job, by table or index (frames of ${frameBytes} bytes):`);
  console.log(
    table(
      ['b-tree', 'table', 'frames', 'bytes', 'share'],
      r.walByBtree.map((w) => [
        w.name,
        w.table,
        String(w.framesPerJob),
        String(w.bytesPerJob),
        `${Math.round((100 * w.bytesPerJob) / Math.max(1, r.perJob.walBytes))}%`,
      ]),
    ),
  );
  if (countRows) {
    console.log('\nRows written per job (bytes: the columns written):');
    console.log(
      table(
        ['table[/projection]', 'inserted', 'updated', 'deleted', 'bytes'],
        r.rowsWritten.map((w) => [
          w.key,
          String(w.insertedPerJob),
          String(w.updatedPerJob),
          String(w.deletedPerJob),
          String(w.bytesPerJob),
        ]),
      ),
    );
  }
  console.log('\nTables and indexes at the end (dbstat):');
  console.log(
    table(
      ['b-tree', 'table', 'rows', 'pages', 'bytes per job', 'payload per job'],
      r.tables.map((t) => [t.name, t.table, String(t.rows ?? ''), String(t.pages), String(t.bytesPerJob), String(t.payloadPerJob)]),
    ),
  );
  const m = r.memory;
  console.log(
    `\nMemory: peak RSS ${m.peakRssMb} MB (process high-water mark), heap used ≤ ${m.peakHeapUsedMb} MB of ≤ ${m.peakHeapTotalMb} MB, external ≤ ${m.peakExternalMb} MB, malloced ≤ ${m.peakMallocedMb} MB; heap used at the end ${m.heapUsedAtEndMb} MB`,
  );
  for (const s of snapshots) {
    console.log(`\nHeap snapshot ${s.file.split('/').pop()}: ${s.totalMb} MB; the largest by self size:`);
    console.log(
      table(
        ['type', 'constructor', 'count', 'MB'],
        s.top.map((e) => [e.type, e.name, String(e.count), String(e.selfMb)]),
      ),
    );
  }
  console.log(`\nWritten to ${path}.`);
};

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
