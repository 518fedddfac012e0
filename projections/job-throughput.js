// job-throughput: how many jobs were enqueued, completed, failed for good,
// errored with a retry scheduled, and cancelled, per minute and per hour: the
// dashboard's charts over the last hour, day and week, read from the record
// (they survive restarts, and a replay gives the same counts).
//
// EventStoreDB projection language: plain ES5, no modules, deterministic, no clock.
//
// Each event is counted in the minute and the hour of the time it records as
// its own (JobEnqueued.enqueuedAt, JobCompleted.completedAt,
// JobErrored.erroredAt, JobCancelled.at), read from the ISO-8601 text with
// integer arithmetic (no Date, whose parsing differs between engines); an
// offset (`+02:00`) is honoured. Never the projection's clock: folding the
// same events again gives the same state.
//
// The state is bounded: per-minute buckets for the newest `limits.minutes`
// minutes (25 h: a day in 15-minute steps, wherever the day starts) and
// per-hour buckets for the newest `limits.hours` hours (31 days), "newest"
// meaning the latest minute any event recorded so far (`latest`). Older
// buckets are dropped as newer events arrive; an event older than what is
// kept counts in `totals` and `late` only. At most ~2,200 rows of six numbers
// (~55 KB when every minute of the last day saw work), and it holds no list
// that grows with the number of jobs. It must stay small: KurrentDB's V1
// (Jint) engine serialises the state after every event.
// Caveat: an event stamped far in the future (a wrong clock) moves `latest`
// forward and the older buckets out; later correct events then count as late.
//
// Bucket row: [t, enqueued, completed, failed, errored, cancelled], t in
// minutes (or hours) since 1970-01-01T00:00Z, rows sorted by t. `failed`: a
// JobErrored with no retry (failed for good); `errored`: a JobErrored with a
// retry scheduled. Every event is counted where it happened: a job retried
// twice and then completed is 2 errored and 1 completed.
// No `outputState()`: nothing reads result streams; the dashboard reads the
// state when it draws.

var MINUTE_LIMIT = 1500;
var HOUR_LIMIT = 744;
var ENQUEUED = 1;
var COMPLETED = 2;
var FAILED = 3;
var ERRORED = 4;
var CANCELLED = 5;

// The number written in s[from..to), or -1 when a character is not a digit.
function digits(s, from, to) {
  var n = 0;
  for (var i = from; i < to; i++) {
    var c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's days_from_civil).
function daysFromCivil(y, m, d) {
  var yy = m <= 2 ? y - 1 : y;
  var era = Math.floor(yy / 400);
  var yoe = yy - era * 400;
  var doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  var doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

// Minutes since 1970-01-01T00:00Z of an ISO-8601 time with a zone
// (`2026-03-01T09:00:00.000Z`, `…+02:00`); -1 when it is not one.
function minuteOf(s) {
  if (typeof s !== 'string' || s.length < 20) return -1;
  if (s.charAt(4) !== '-' || s.charAt(7) !== '-' || s.charAt(10) !== 'T' || s.charAt(13) !== ':' || s.charAt(16) !== ':') return -1;
  var y = digits(s, 0, 4);
  var mo = digits(s, 5, 7);
  var d = digits(s, 8, 10);
  var h = digits(s, 11, 13);
  var mi = digits(s, 14, 16);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59) return -1;
  var offset = 0;
  if (s.charAt(s.length - 1) !== 'Z') {
    var sign = s.charAt(s.length - 6);
    if ((sign !== '+' && sign !== '-') || s.charAt(s.length - 3) !== ':') return -1;
    var oh = digits(s, s.length - 5, s.length - 3);
    var om = digits(s, s.length - 2, s.length);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return -1;
    offset = (oh * 60 + om) * (sign === '+' ? 1 : -1);
  }
  return daysFromCivil(y, mo, d) * 1440 + h * 60 + mi - offset;
}

// Drops the rows older than `oldest` (rows are sorted by t).
function trim(rows, oldest) {
  var n = 0;
  while (n < rows.length && rows[n][0] < oldest) n += 1;
  if (n > 0) rows.splice(0, n);
}

// Adds one to column `col` of the row of time t, unless t is older than `oldest`; true when counted.
function bump(rows, t, col, oldest) {
  if (t < oldest) return false;
  var last = rows.length - 1;
  // Events mostly come in time order: the newest row, or a new one after it.
  if (last < 0 || rows[last][0] < t) {
    var row = [t, 0, 0, 0, 0, 0];
    row[col] = 1;
    rows.push(row);
    return true;
  }
  var lo = 0;
  var hi = rows.length;
  while (lo < hi) {
    var mid = (lo + hi) >> 1;
    if (rows[mid][0] < t) lo = mid + 1;
    else hi = mid;
  }
  if (rows[lo][0] !== t) rows.splice(lo, 0, [t, 0, 0, 0, 0, 0]);
  rows[lo][col] += 1;
  return true;
}

function count(state, col, time) {
  state.totals[col - 1] += 1;
  var minute = minuteOf(time);
  if (minute < 0) {
    state.unreadable += 1;
    return state;
  }
  if (minute > state.latest) {
    state.latest = minute;
    trim(state.minutes, minute - state.limits.minutes + 1);
    trim(state.hours, Math.floor(minute / 60) - state.limits.hours + 1);
  }
  var inMinutes = bump(state.minutes, minute, col, state.latest - state.limits.minutes + 1);
  var inHours = bump(state.hours, Math.floor(minute / 60), col, Math.floor(state.latest / 60) - state.limits.hours + 1);
  if (!inMinutes) state.late += 1;
  if (!inHours) state.dropped += 1;
  return state;
}

fromCategory('job').when({
  $init: function () {
    return {
      columns: ['t', 'enqueued', 'completed', 'failed', 'errored', 'cancelled'],
      minutes: [],
      hours: [],
      latest: -1,
      totals: [0, 0, 0, 0, 0],
      late: 0,
      dropped: 0,
      unreadable: 0,
      limits: { minutes: MINUTE_LIMIT, hours: HOUR_LIMIT }
    };
  },

  JobEnqueued: function (state, event) {
    return count(state, ENQUEUED, event.body.enqueuedAt);
  },

  JobCompleted: function (state, event) {
    return count(state, COMPLETED, event.body.completedAt);
  },

  JobErrored: function (state, event) {
    var d = event.body;
    return count(state, d.retryAt !== undefined ? ERRORED : FAILED, d.erroredAt);
  },

  JobCancelled: function (state, event) {
    return count(state, CANCELLED, event.body.at);
  }
});
