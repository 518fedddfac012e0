import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AppendError, EventStore } from '../eventStore/index.js';
import type { JobView } from '../job/index.js';
import { silentLogger, type Logger } from '../log/index.js';
import type { AttemptOutcome } from '../worker/execute.js';
import { makeLabelBound, type LabelBound } from './labels.js';
import type { JobObserver } from './observer.js';

/** `createEngine({ metrics })`: register jobtrail's metrics (docs/metrics.md) into a prom-client registry. */
export interface MetricsOptions {
  /**
   * The prom-client `Registry` to register into (`new Registry()`, or prom-client's global `register`). Several
   * engines may share one: their counts add up, and each scrape asks every open engine for its queues.
   */
  readonly registry: Registry;
  /** Most `{worker, queue}` pairs with series of their own; the pairs seen after these are counted as `(other)`. Default: 200. */
  readonly maxSeries?: number;
  /** Longest one scrape-time collector (queues, projection lag, job counts) may take; past it, its series are left out of that scrape. Default: 2000 ms. */
  readonly collectTimeoutMs?: number;
  /**
   * Also export the store-wide counts of jobs by status from the `job-dashboard` projection (`jobtrail_jobs`,
   * `jobtrail_jobs_awaiting_retry`, `jobtrail_oldest_outstanding_job_age_seconds`): one process of a fleet should
   * (`jobtrail dashboard` does). Default: false.
   */
  readonly jobCounts?: boolean;
}

/** A queue as a scrape sees it (the engine's `listQueues`). */
export interface QueueSample {
  readonly name: string;
  readonly paused: boolean;
  /** Ready messages, where known. */
  readonly depth?: number;
  /** Consumers, where known. */
  readonly consumers?: number;
}

/** How far a projection lags the store (embedded store only). */
export interface LagSample {
  readonly projection: string;
  /** Events of its category it has not folded yet (counted up to `lagCountCap`). */
  readonly events: number;
  /** Age of the oldest of them; 0 when caught up. */
  readonly seconds: number;
}

/** The store-wide counts of the `job-dashboard` projection. */
export interface JobCountsSample {
  readonly counts: Readonly<Record<string, number>>;
  readonly awaitingRetry: number;
  /** When the oldest outstanding job was enqueued (ms since the epoch); absent when none is outstanding. */
  readonly oldestOutstandingAt?: number;
}

/** What an engine answers at scrape time. Each member may be slow or fail: a scrape bounds and survives it. */
export interface MetricsSource {
  queues(): Promise<readonly QueueSample[]>;
  projectionLag(): Promise<readonly LagSample[]>;
  jobCounts?(): Promise<JobCountsSample | undefined>;
}

/** One engine's hold on a registry's metrics. */
export interface EngineMetrics {
  readonly registry: Registry;
  /** What the engine calls as jobs move (src/metrics/observer.ts). */
  readonly observer: JobObserver;
  /** `store`, with the time of each `append` observed (`jobtrail_store_append_duration_seconds`). */
  timeAppends<S extends EventStore>(store: S): S;
  /** Answers the scrape-time gauges from `source` until the returned function is called (at the engine's close). */
  collectFrom(source: MetricsSource): () => void;
}

/** A queue depth or projection lag series per queue or projection: at most this many per scrape. */
export const maxCollectedSeries = 500;

const attemptBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const waitBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const appendBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** `outcome` of `jobtrail_attempt_duration_seconds`: how an attempt that started here ended. */
export const AttemptOutcomes = {
  completed: 'completed',
  /** Errored, another attempt scheduled. */
  errored: 'errored',
  /** Errored for good: no attempt left, or not retryable. */
  failed: 'failed',
  cancelled: 'cancelled',
  /** Not recorded here: the delivery was lost, or another process took the attempt over (whoever gets it records WorkerLost). */
  abandoned: 'abandoned',
} as const;
export type AttemptOutcomeLabel = (typeof AttemptOutcomes)[keyof typeof AttemptOutcomes];

/** The label value of an attempt's end. */
export const outcomeLabel = (outcome: AttemptOutcome | undefined): AttemptOutcomeLabel => {
  switch (outcome?._tag) {
    case 'Completed':
      return AttemptOutcomes.completed;
    case 'Cancelled':
      return AttemptOutcomes.cancelled;
    case 'Errored':
      return outcome.retryAt === undefined ? AttemptOutcomes.failed : AttemptOutcomes.errored;
    default:
      return AttemptOutcomes.abandoned;
  }
};

/** Rejects with a timeout error when `p` takes longer than `ms`. */
export const withTimeout = <A>(p: Promise<A>, ms: number, what: string): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    p.then(
      (a) => {
        clearTimeout(timer);
        resolve(a);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });

type Collector = 'queues' | 'projection_lag' | 'job_counts';

/** The metrics of one registry, shared by the engines that register into it. */
interface RegistryMetrics {
  registerJobCounts(): void;
  readonly bound: LabelBound;
  readonly enqueued: Counter<'worker' | 'queue'>;
  readonly started: Counter<'worker' | 'queue'>;
  readonly completed: Counter<'worker' | 'queue'>;
  readonly errored: Counter<'worker' | 'queue'>;
  readonly failed: Counter<'worker' | 'queue'>;
  readonly cancelled: Counter<'worker' | 'queue'>;
  readonly lost: Counter<'worker' | 'queue'>;
  readonly attemptDuration: Histogram<'worker' | 'queue' | 'outcome'>;
  readonly enqueueToStart: Histogram<'worker' | 'queue'>;
  readonly inProgress: Gauge<'worker' | 'queue'>;
  readonly appendDuration: Histogram<'outcome'>;
  readonly collectErrors: Counter<'collector'>;
  readonly sources: Set<{ readonly source: MetricsSource; readonly log: Logger; readonly jobCounts: boolean }>;
}

const byRegistry = new WeakMap<Registry, RegistryMetrics>();

const seconds = (ms: number): number => Math.max(0, ms) / 1000;

const makeRegistryMetrics = (registry: Registry, options: MetricsOptions): RegistryMetrics => {
  const registers = [registry];
  const wq = ['worker', 'queue'] as const;
  const counter = (name: string, help: string) => new Counter({ name, help, labelNames: wq, registers });
  const timeoutMs = options.collectTimeoutMs ?? 2_000;
  const sources: RegistryMetrics['sources'] = new Set();

  // One run of a collector per scrape, shared by the gauges it feeds (a scrape collects them concurrently).
  const shared = <A>(collector: Collector, gather: () => Promise<A>) => {
    let last: { readonly at: number; readonly result: Promise<A | undefined> } | undefined;
    return (): Promise<A | undefined> => {
      const now = Date.now();
      if (last !== undefined && now - last.at < 1_000) return last.result;
      const result = withTimeout(gather(), timeoutMs, `the ${collector} collector`).catch((error: unknown) => {
        collectErrors.inc({ collector });
        for (const { log } of sources) {
          log.warn({ collector, err: (error as Error).message }, 'metrics: a collector failed; its series are left out of this scrape');
          break;
        }
        return undefined;
      });
      last = { at: now, result };
      return result;
    };
  };
  const everySource = async <A>(f: (s: MetricsSource, jobCounts: boolean) => Promise<A> | undefined): Promise<A[]> => {
    const out: A[] = [];
    for (const { source, jobCounts } of [...sources]) {
      const p = f(source, jobCounts);
      if (p !== undefined) out.push(await p);
    }
    return out;
  };

  const queues = shared('queues', async () => {
    const all = new Map<string, QueueSample>();
    for (const list of await everySource((s) => s.queues())) for (const q of list) if (all.size < maxCollectedSeries) all.set(q.name, q);
    return [...all.values()];
  });
  const lag = shared('projection_lag', async () => {
    const all = new Map<string, LagSample>();
    for (const list of await everySource((s) => s.projectionLag()))
      for (const l of list) if (all.size < maxCollectedSeries) all.set(l.projection, l);
    return [...all.values()];
  });
  const counts = shared('job_counts', async () => {
    const found = await everySource((s, wanted) => (wanted ? s.jobCounts?.() : undefined));
    return found.find((c) => c !== undefined);
  });

  const collectErrors = new Counter({
    name: 'jobtrail_metrics_collect_errors_total',
    help: 'Scrape-time collectors (queues, projection_lag, job_counts) that failed or took too long; their series were left out of that scrape.',
    labelNames: ['collector'],
    registers,
    // The collectors of this scrape first (each runs once per scrape, shared with its gauges): their errors count now.
    async collect() {
      await Promise.all([queues(), lag(), ...(jobCountsRegistered ? [counts()] : [])]);
    },
  });
  // Every collector's series from the start (0), so that rate() and alerts see it before its first error.
  collectErrors.inc({ collector: 'queues' }, 0);
  collectErrors.inc({ collector: 'projection_lag' }, 0);

  const queueGauge = (name: string, help: string, value: (q: QueueSample) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['queue'],
      registers,
      async collect() {
        this.reset();
        for (const q of (await queues()) ?? []) {
          const v = value(q);
          if (v !== undefined) this.set({ queue: q.name }, v);
        }
      },
    });
  queueGauge(
    'jobtrail_queue_messages',
    'Messages ready in the work queue, where the broker can tell (RabbitMQ; in-process: this process only).',
    (q) => q.depth,
  );
  queueGauge(
    'jobtrail_queue_consumers',
    'Consumers of the work queue (RabbitMQ: its count; embedded: the live processes whose heartbeat lists the queue).',
    (q) => q.consumers,
  );
  queueGauge('jobtrail_queue_paused', '1 while the queue is paused (docs/queues.md), else 0.', (q) => (q.paused ? 1 : 0));

  const lagGauge = (name: string, help: string, value: (l: LagSample) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['projection'],
      registers,
      async collect() {
        this.reset();
        for (const l of (await lag()) ?? []) this.set({ projection: l.projection }, value(l));
      },
    });
  lagGauge(
    'jobtrail_projection_lag_seconds',
    'Age of the oldest job event the projection has not folded yet; 0 when caught up (embedded store).',
    (l) => l.seconds,
  );
  lagGauge(
    'jobtrail_projection_lag_events',
    `Job events the projection has not folded yet, counted up to ${lagCountCap} (embedded store).`,
    (l) => l.events,
  );

  // Registered when the first engine that wants them attaches.
  let jobCountsRegistered = false;
  const registerJobCounts = (): void => {
    if (jobCountsRegistered) return;
    jobCountsRegistered = true;
    collectErrors.inc({ collector: 'job_counts' }, 0);
    new Gauge({
      name: 'jobtrail_jobs',
      help: 'Jobs in the store by status, from the job-dashboard projection (store-wide: the same in every process).',
      labelNames: ['status'],
      registers,
      async collect() {
        this.reset();
        const c = await counts();
        if (c !== undefined) for (const [status, n] of Object.entries(c.counts)) this.set({ status }, n);
      },
    });
    new Gauge({
      name: 'jobtrail_jobs_awaiting_retry',
      help: 'Errored jobs with another attempt scheduled (counted in jobtrail_jobs{status="errored"} too).',
      registers,
      async collect() {
        this.reset();
        const c = await counts();
        if (c !== undefined) this.set(c.awaitingRetry);
      },
    });
    new Gauge({
      name: 'jobtrail_oldest_outstanding_job_age_seconds',
      help: 'Time since the oldest job that is not final was enqueued; 0 when none is outstanding.',
      registers,
      async collect() {
        this.reset();
        const c = await counts();
        if (c !== undefined) this.set(c.oldestOutstandingAt === undefined ? 0 : seconds(Date.now() - c.oldestOutstandingAt));
      },
    });
  };

  const overflow = new Counter({
    name: 'jobtrail_metrics_label_overflow_total',
    help: 'Observations counted under worker="(other)", queue="(other)" because maxSeries {worker, queue} pairs had series already.',
    registers,
  });

  return {
    registerJobCounts,
    bound: makeLabelBound(options.maxSeries ?? 200, () => overflow.inc()),
    enqueued: counter('jobtrail_jobs_enqueued_total', 'Jobs recorded (JobEnqueued) by this process.'),
    started: counter('jobtrail_jobs_started_total', 'Attempts started (JobStarted) by this process.'),
    completed: counter('jobtrail_jobs_completed_total', 'Attempts that ended completed (JobCompleted) in this process.'),
    errored: counter(
      'jobtrail_jobs_errored_total',
      'Attempts that ended errored (JobErrored) in this process, whether retried or not (failed_total counts those not retried).',
    ),
    failed: counter(
      'jobtrail_jobs_failed_total',
      'Attempts that ended errored for good (no retry left, or not retryable) in this process.',
    ),
    cancelled: counter(
      'jobtrail_jobs_cancelled_total',
      'Jobs cancelled (JobCancelled) by this process: running attempts that ended on their cancel request, and waiting jobs cancelled here.',
    ),
    lost: counter(
      'jobtrail_attempts_lost_total',
      'Attempts of gone processes that this process recorded as WorkerLost (their redelivery, start-up recovery, the sweep).',
    ),
    attemptDuration: new Histogram({
      name: 'jobtrail_attempt_duration_seconds',
      help: 'Time from an attempt start to its end being recorded, by outcome (completed, errored, failed, cancelled, abandoned).',
      labelNames: ['worker', 'queue', 'outcome'],
      buckets: attemptBuckets,
      registers,
    }),
    enqueueToStart: new Histogram({
      name: 'jobtrail_enqueue_to_start_seconds',
      help: "Time from when a job's first attempt was due (enqueued, its runAt, or its release as a continuation) to its start.",
      labelNames: wq,
      buckets: waitBuckets,
      registers,
    }),
    inProgress: new Gauge({ name: 'jobtrail_jobs_in_progress', help: 'Attempts running in this process now.', labelNames: wq, registers }),
    appendDuration: new Histogram({
      name: 'jobtrail_store_append_duration_seconds',
      help: 'Time of one append to a job stream, by outcome (ok, conflict: another writer moved the stream first, failed).',
      labelNames: ['outcome'],
      buckets: appendBuckets,
      registers,
    }),
    collectErrors,
    sources,
  };
};

/** When an attempt's first start was due: its runAt, its release as a continuation, or its enqueue, whichever is latest. */
export const firstDueAt = (job: Pick<JobView, 'enqueuedAt' | 'runAt' | 'released'>): number =>
  Math.max(
    Date.parse(job.enqueuedAt),
    job.runAt === undefined ? 0 : Date.parse(job.runAt),
    job.released === undefined ? 0 : Date.parse(job.released.at),
  );

/** Throws a `TypeError` that says what is wrong with options `attachMetrics` cannot use. */
export const checkMetricsOptions = (options: MetricsOptions | undefined): void => {
  if (options === undefined) return;
  const registry = (options as Partial<MetricsOptions> | null)?.registry;
  if (typeof registry?.metrics !== 'function' || typeof registry.registerMetric !== 'function')
    throw new TypeError('metrics.registry must be a prom-client Registry (new Registry(), or prom-client\'s "register")');
  const { maxSeries, collectTimeoutMs } = options;
  if (maxSeries !== undefined && (!Number.isInteger(maxSeries) || maxSeries < 1))
    throw new TypeError(`metrics.maxSeries must be a whole number ≥ 1, got ${String(maxSeries)}`);
  if (collectTimeoutMs !== undefined && (!Number.isFinite(collectTimeoutMs) || collectTimeoutMs <= 0))
    throw new TypeError(`metrics.collectTimeoutMs must be a number of milliseconds above 0, got ${String(collectTimeoutMs)}`);
};

/** Events counted at most by `jobtrail_projection_lag_events`. */
export const lagCountCap = 1_000;

/**
 * Registers jobtrail's metrics into `options.registry` (once per registry; later engines share them) and returns the
 * engine's observer and scrape-time hook. Called by `createEngine` when given `metrics`.
 */
export const attachMetrics = (options: MetricsOptions, log: Logger = silentLogger): EngineMetrics => {
  checkMetricsOptions(options);
  const { registry } = options;
  let m = byRegistry.get(registry);
  if (m === undefined) {
    m = makeRegistryMetrics(registry, options);
    byRegistry.set(registry, m);
  }
  const metrics = m;
  const labels = (job: Pick<JobView, 'workerName' | 'queue'>) => metrics.bound.labels(job.workerName, job.queue);

  const observer: JobObserver = {
    enqueued: (job) => metrics.enqueued.inc(labels(job)),
    attemptStarted: (job) => {
      const l = labels(job);
      const t0 = performance.now();
      metrics.started.inc(l);
      metrics.inProgress.inc(l);
      // A first attempt: how long it waited in its queue. A retry waits its backoff by design, and is not counted here.
      if (job.attempts === 1 && job.startedAt !== undefined)
        metrics.enqueueToStart.observe(l, seconds(Date.parse(job.startedAt) - firstDueAt(job)));
      let ended = false;
      return (outcome) => {
        if (ended) return;
        ended = true;
        metrics.inProgress.dec(l);
        const label = outcomeLabel(outcome);
        metrics.attemptDuration.observe({ ...l, outcome: label }, (performance.now() - t0) / 1000);
        if (label === AttemptOutcomes.completed) metrics.completed.inc(l);
        else if (label === AttemptOutcomes.cancelled) metrics.cancelled.inc(l);
        else if (label === AttemptOutcomes.errored) metrics.errored.inc(l);
        else if (label === AttemptOutcomes.failed) {
          metrics.errored.inc(l);
          metrics.failed.inc(l);
        }
      };
    },
    cancelled: (job) => metrics.cancelled.inc(labels(job)),
    lost: (job) => metrics.lost.inc(labels(job)),
  };

  const timeAppends = <S extends EventStore>(store: S): S => {
    const append: EventStore['append'] = (stream, events, appendOptions) => {
      const task = store.append(stream, events, appendOptions);
      return async () => {
        const t0 = performance.now();
        let outcome = 'failed';
        try {
          const r = await task();
          outcome = r._tag === 'Right' ? 'ok' : appendOutcome(r.left);
          return r;
        } finally {
          metrics.appendDuration.observe({ outcome }, (performance.now() - t0) / 1000);
        }
      };
    };
    return new Proxy(store, { get: (target, prop) => (prop === 'append' ? append : Reflect.get(target, prop, target)) });
  };

  return {
    registry,
    observer,
    timeAppends,
    collectFrom: (source) => {
      const entry = { source, log, jobCounts: options.jobCounts === true };
      if (entry.jobCounts) metrics.registerJobCounts();
      metrics.sources.add(entry);
      return () => void metrics.sources.delete(entry);
    },
  };
};

const appendOutcome = (error: AppendError): string => (error._tag === 'WrongExpectedRevision' ? 'conflict' : 'failed');
