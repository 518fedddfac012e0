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
// same events again gives the same states.
//
// Partitioned by the hour, in a ring of SLOTS (768: 32 days) partitions named
// `h<hour mod 768>`, hour = hours since 1970-01-01T00:00Z. A partition holds
// one hour: `{h, n, m, stale}`, `h` the hour it counts, `n` its totals
// `[enqueued, completed, failed, errored, cancelled]`, `m` its minutes with
// any count `[[minute of the hour, enqueued, …, cancelled], …]` sorted by
// minute, `stale` the events that came for an older hour than `h` (more than
// 32 days late: dropped). An event for a newer hour than the slot's empties it
// first. So the whole read side is at most 768 small states (60 rows each at
// most) whatever the number of jobs, and each event reads and writes one of
// them: KurrentDB's V1 (Jint) engine serialises a state after every event and
// parses it again when the partition changes, so one big state holding a day
// of minutes would cost milliseconds per event (bench/throughputCost.ts). A
// reader asks for the slot of the hour it wants and checks `h`.
// An event whose time cannot be read is counted in `n` of partition
// `unreadable` (`h` -1) alone.
//
// `failed`: a JobErrored with no retry (failed for good); `errored`: a
// JobErrored with a retry scheduled. Every event is counted where it
// happened: a job retried twice and then completed is 2 errored, 1 completed.
// No `outputState()`: nothing reads result streams; the dashboard reads the
// states when it draws.

var SLOTS = 768;
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
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59) return -1;
  var offset = 0;
  if (s.charAt(s.length - 1) !== 'Z') {
    var sign = s.charAt(s.length - 6);
    if ((sign !== '+' && sign !== '-') || s.charAt(s.length - 3) !== ':') return -1;
    var oh = digits(s, s.length - 5, s.length - 3);
    var om = digits(s, s.length - 2, s.length);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return -1;
    offset = (oh * 60 + om) * (sign === '+' ? 1 : -1);
  }
  var minute = daysFromCivil(y, mo, d) * 1440 + h * 60 + mi - offset;
  return minute >= 0 ? minute : -1;
}

// The time an event records as its own.
function timeOf(event) {
  var d = event.body;
  if (d === null || typeof d !== 'object') return undefined;
  if (event.eventType === 'JobEnqueued') return d.enqueuedAt;
  if (event.eventType === 'JobCompleted') return d.completedAt;
  if (event.eventType === 'JobErrored') return d.erroredAt;
  return d.at;
}

// Adds one to column `col` of minute `mm` of the hour (rows sorted by minute).
function bump(rows, mm, col) {
  var last = rows.length - 1;
  // Events mostly come in time order: the newest row, or a new one after it.
  if (last < 0 || rows[last][0] < mm) {
    var row = [mm, 0, 0, 0, 0, 0];
    row[col] = 1;
    rows.push(row);
    return;
  }
  var i = 0;
  while (rows[i][0] < mm) i += 1;
  if (rows[i][0] !== mm) rows.splice(i, 0, [mm, 0, 0, 0, 0, 0]);
  rows[i][col] += 1;
}

function count(state, event, col) {
  var minute = minuteOf(timeOf(event));
  if (minute < 0) {
    state.n[col - 1] += 1;
    return state;
  }
  var hour = Math.floor(minute / 60);
  if (hour < state.h) {
    state.stale += 1;
    return state;
  }
  if (hour > state.h) {
    // The slot's hour is 32 days old (or the slot is new): it counts this hour from now on.
    state.h = hour;
    state.n = [0, 0, 0, 0, 0];
    state.m = [];
  }
  state.n[col - 1] += 1;
  bump(state.m, minute - hour * 60, col);
  return state;
}

fromCategory('job')
  .partitionBy(function (event) {
    var minute = minuteOf(timeOf(event));
    return minute < 0 ? 'unreadable' : 'h' + (Math.floor(minute / 60) % SLOTS);
  })
  .when({
    $init: function () {
      return { h: -1, n: [0, 0, 0, 0, 0], m: [], stale: 0 };
    },

    JobEnqueued: function (state, event) {
      return count(state, event, ENQUEUED);
    },

    JobCompleted: function (state, event) {
      return count(state, event, COMPLETED);
    },

    JobErrored: function (state, event) {
      return count(state, event, event.body.retryAt !== undefined ? ERRORED : FAILED);
    },

    JobCancelled: function (state, event) {
      return count(state, event, CANCELLED);
    }
  });
