// job-dashboard: one state for all jobs: counts by status, per
// worker (enqueued, completed, errored, mean and p95 duration), the oldest
// outstanding jobs and the newest failures, each list a few entries long.
//
// EventStoreDB projection language: plain ES5, no modules, deterministic, no clock.
//
// How the counts stay exact and the state small. A transition moves a job
// from one status to another, so a count can only be kept by knowing the
// status the job leaves; and JobCompleted / JobErrored do not carry the
// worker's name. Both facts are per job, and a per-job map inside one state
// grows with the number of jobs. So this is a bi-state projection:
// `foreachStream()` keeps a tiny state per job stream (`{id, s, r, w, n, e}`:
// id, status, retry scheduled, worker, enqueue sequence, enqueuedAt), which
// EventStoreDB stores per partition, and the shared state (`state[1]`) holds
// only small aggregates. It must stay small: KurrentDB's V1 (Jint) engine
// serialises the shared state after every event and parses it again whenever
// the partition changes, i.e. on nearly every event when many jobs run at
// once, so each event costs time in proportion to its size
// (bench/projectionCost.ts measures it). It holds:
//   - counts: exact, moved on every transition;
//   - workers: one entry per worker name (the registry bounds them), with
//     durations of completed attempts in a fixed log histogram (8 buckets per
//     doubling, so p95 is within 9% of the exact value; ~240 buckets cover
//     1 ms to 10 days);
//   - outstanding: the exact count, and the oldest outstanding jobs (enqueue
//     order), at most `limits.outstanding` of them. The list is exact as far
//     as it goes: it holds every outstanding job enqueued up to
//     `outstanding.through` (an enqueue sequence number), and every
//     outstanding job it does not hold was enqueued after the last one it
//     holds. When it overflows it drops its newest entries and `through`
//     moves back; `through` moves forward only as the job enqueued next after
//     it changes state (the projection has no way to enumerate the jobs it
//     dropped), so the list may hold fewer entries than fit while
//     `count > entries.length`. Every outstanding job is in `listJobs` /
//     `listJobViews` by status;
//   - failures: the newest `limits.failures` JobErrored, newest first, with
//     the error name and message cut to 200 and 500 characters; every failed
//     job is in `listJobViews({status: 'errored'})`.
// Trade-off: EventStoreDB writes a checkpoint per job partition as well, i.e.
// one more small event per job and checkpoint. The shared state is what
// `getProjectionState('job-dashboard')` returns.
// No `outputState()`: it would write a result event per job event (into a
// per-job result stream, for a partitioned projection); dashboards learn of
// changes from `$ce-job` instead and read the state again.

options({ biState: true });

var OUTSTANDING_LIMIT = 10;
var FAILURE_LIMIT = 10;
var NAME_LIMIT = 200;
var MESSAGE_LIMIT = 500;

// 2^(k/8), k = 0..8: the bucket bounds within one doubling. Bucketing uses only
// halving and comparisons, which every engine computes exactly alike.
var STEPS = [1, 1.0905077326652577, 1.189207115002721, 1.2968395546510096, 1.4142135623730951,
  1.542210825407941, 1.6817928305074292, 1.8340080864093424, 2];

// Bucket 0: [0, 1) ms; bucket 1 + 8e + k: [2^e * STEPS[k], 2^e * STEPS[k + 1]) ms.
function bucketOf(ms) {
  if (!(ms >= 1)) return 0;
  var e = 0;
  var m = ms;
  while (m >= 2) {
    m = m / 2;
    e += 1;
  }
  var k = 0;
  while (k < 7 && m >= STEPS[k + 1]) k += 1;
  return 1 + e * 8 + k;
}

function bucketUpperBound(bucket) {
  if (bucket === 0) return 1;
  var e = Math.floor((bucket - 1) / 8);
  var bound = STEPS[((bucket - 1) % 8) + 1];
  for (var i = 0; i < e; i++) bound = bound * 2;
  return bound;
}

function worker(dash, name) {
  var w = dash.workers[name];
  if (w === undefined) {
    w = { enqueued: 0, completed: 0, errored: 0, durations: { count: 0, totalMs: 0, meanMs: 0, p95Ms: 0, buckets: {} } };
    dash.workers[name] = w;
  }
  return w;
}

function addDuration(w, ms) {
  var d = w.durations;
  var b = String(bucketOf(ms));
  d.buckets[b] = (d.buckets[b] || 0) + 1;
  d.count += 1;
  d.totalMs += ms;
  d.meanMs = d.totalMs / d.count;
  var keys = [];
  for (var key in d.buckets) {
    if (Object.prototype.hasOwnProperty.call(d.buckets, key)) keys.push(Number(key));
  }
  keys.sort(function (a, z) {
    return a - z;
  });
  // Nearest rank, in integers: the ceil(0.95 * count)-th smallest duration.
  var rank = Math.floor((95 * d.count + 99) / 100);
  var seen = 0;
  for (var i = 0; i < keys.length; i++) {
    seen += d.buckets[String(keys[i])];
    if (seen >= rank) {
      d.p95Ms = bucketUpperBound(keys[i]);
      break;
    }
  }
}

function isOutstanding(job) {
  return job.s === 'initial' || job.s === 'in_progress' || (job.s === 'errored' && job.r === 1);
}

// The index of the first entry whose sequence is >= n (entries are sorted by n).
function seek(entries, n) {
  var lo = 0;
  var hi = entries.length;
  while (lo < hi) {
    var mid = (lo + hi) >> 1;
    if (entries[mid].n < n) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function unlist(dash, job) {
  var entries = dash.outstanding.entries;
  var i = seek(entries, job.n);
  if (i < entries.length && entries[i].n === job.n) entries.splice(i, 1);
}

// Lists a job that is outstanding now, keeping the list exact up to
// `through`: a job enqueued up to there is listed (the newest entry drops out
// when the list overflows, and `through` moves back before it); the job
// enqueued next after `through` moves it on when there is room; a later one is
// not known to be among the oldest, and is not listed.
function list(dash, job) {
  var o = dash.outstanding;
  var entries = o.entries;
  if (job.n > o.through + 1) return;
  if (job.n === o.through + 1) {
    if (entries.length >= dash.limits.outstanding) return;
    o.through = job.n;
  }
  var entry = { jobId: job.id, status: job.s, workerName: job.w, enqueuedAt: job.e, n: job.n };
  entries.splice(seek(entries, job.n), 0, entry);
  if (entries.length > dash.limits.outstanding) o.through = entries.pop().n - 1;
}

// A job that is not outstanding now: when it is the one enqueued next after
// `through`, the list is exact one job further.
function pass(dash, n) {
  if (n === dash.outstanding.through + 1) dash.outstanding.through = n;
}

// Takes a job out of its status: counts and the outstanding list.
function leave(dash, job) {
  if (job.s === 'none') return;
  dash.counts[job.s] -= 1;
  if (job.s === 'errored' && job.r === 1) dash.awaitingRetry -= 1;
  if (isOutstanding(job)) {
    dash.outstanding.count -= 1;
    unlist(dash, job);
  }
  job.s = 'none';
}

// Moves a job to `status`, keeping every count and list in step.
function move(dash, job, status, retry) {
  leave(dash, job);
  job.s = status;
  job.r = retry ? 1 : 0;
  // `|| 0`: a shared state kept from before the `awaiting` status has no count for it.
  dash.counts[status] = (dash.counts[status] || 0) + 1;
  if (status === 'errored' && retry) dash.awaitingRetry += 1;
  if (isOutstanding(job)) {
    dash.outstanding.count += 1;
    list(dash, job);
  } else {
    pass(dash, job.n);
  }
}

function cut(text, limit) {
  var s = String(text);
  return s.length > limit ? s.substring(0, limit) : s;
}

fromCategory('job')
  .foreachStream()
  .when({
    $init: function () {
      return { s: 'none' };
    },

    $initShared: function () {
      return {
        jobs: 0,
        seq: 0,
        counts: { awaiting: 0, initial: 0, in_progress: 0, errored: 0, completed: 0, cancelled: 0 },
        awaitingRetry: 0,
        workers: {},
        outstanding: { count: 0, through: 0, entries: [] },
        failures: [],
        limits: { outstanding: OUTSTANDING_LIMIT, failures: FAILURE_LIMIT }
      };
    },

    JobEnqueued: function (state, event) {
      var job = state[0];
      var dash = state[1];
      var d = event.body;
      // A second JobEnqueued starts the job over, as `evolve` does.
      if (job.s === 'none') dash.jobs += 1;
      leave(dash, job);
      // Its old sequence number is no one's any more: not outstanding.
      if (job.n !== undefined) pass(dash, job.n);
      dash.seq += 1;
      job.id = d.jobId;
      job.w = d.workerName;
      job.e = d.enqueuedAt;
      job.n = dash.seq;
      worker(dash, d.workerName).enqueued += 1;
      // A continuation waits for its parents (not outstanding: nothing can run it yet).
      move(dash, job, d.after !== undefined ? 'awaiting' : 'initial', false);
    },

    JobReleased: function (state) {
      if (state[0].s === 'none') return;
      move(state[1], state[0], 'initial', false);
    },

    JobStarted: function (state) {
      if (state[0].s === 'none') return;
      move(state[1], state[0], 'in_progress', false);
    },

    JobCompleted: function (state, event) {
      var job = state[0];
      var dash = state[1];
      if (job.s === 'none') return;
      move(dash, job, 'completed', false);
      var w = worker(dash, job.w);
      w.completed += 1;
      addDuration(w, event.body.durationMs);
    },

    JobErrored: function (state, event) {
      var job = state[0];
      var dash = state[1];
      var d = event.body;
      if (job.s === 'none') return;
      move(dash, job, 'errored', d.retryAt !== undefined);
      worker(dash, job.w).errored += 1;
      var failure = {
        jobId: job.id,
        workerName: job.w,
        attempt: d.attempt,
        error: { name: cut(d.error.name, NAME_LIMIT), message: cut(d.error.message, MESSAGE_LIMIT) },
        at: d.erroredAt
      };
      if (d.retryAt !== undefined) failure.retryAt = d.retryAt;
      dash.failures.unshift(failure);
      if (dash.failures.length > dash.limits.failures) dash.failures.pop();
    },

    JobReset: function (state) {
      if (state[0].s === 'none') return;
      move(state[1], state[0], 'initial', false);
    },

    JobCancelled: function (state) {
      if (state[0].s === 'none') return;
      move(state[1], state[0], 'cancelled', false);
    },

    // Purged (docs/retention.md): the job leaves its count, the total and the failures list; the per-worker
    // totals and durations stay (statistics, as Hangfire keeps its succeeded count), and `purged` counts it.
    JobPurged: function (state) {
      var job = state[0];
      var dash = state[1];
      if (job.s === 'none') return;
      leave(dash, job);
      dash.jobs -= 1;
      dash.purged = (dash.purged || 0) + 1;
      var kept = [];
      for (var i = 0; i < dash.failures.length; i++) if (dash.failures[i].jobId !== job.id) kept.push(dash.failures[i]);
      dash.failures = kept;
    }
  });
