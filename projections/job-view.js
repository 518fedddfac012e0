// job-view: one state per job stream (partition `job-<jobId>`), the job view
// (`JobView`). It must equal `fold(events)` of src/job/state.ts for every
// valid history: the same fields, present and absent in the same cases.
//
// EventStoreDB projection language: plain JavaScript (ES5 on purpose, so the
// V8 engine of old servers, Jint of current ones and jobtrail's embedded
// runtime all read it alike), no modules, deterministic, no clock.
// Query: the state of partition `job-<jobId>`. No `outputState()`: result
// streams would cost EventStoreDB two records per state change that nothing
// reads; `subscribe('job-view')` follows `$ce-job` and reads the state of the
// event's partition instead.

function copyOwn(from, to) {
  for (var key in from) {
    if (Object.prototype.hasOwnProperty.call(from, key)) to[key] = from[key];
  }
  return to;
}

function drop(state, keys) {
  for (var i = 0; i < keys.length; i++) delete state[keys[i]];
}

function isView(state) {
  return state !== null && typeof state === 'object' && typeof state.status === 'string' && state.status !== 'none';
}

fromCategory('job')
  .foreachStream()
  .when({
    $init: function () {
      return { status: 'none' };
    },

    JobEnqueued: function (state, event) {
      var d = event.body;
      var view = {
        jobId: d.jobId,
        workerName: d.workerName,
        queue: d.queue,
        payload: d.payload,
        maxAttempts: d.maxAttempts,
        status: d.after !== undefined ? 'awaiting' : 'initial',
        attempts: 0,
        attemptBase: 0
      };
      if (d.maxInterruptions !== undefined) view.maxInterruptions = d.maxInterruptions;
      view.enqueuedAt = d.enqueuedAt;
      if (d.runAt !== undefined) view.runAt = d.runAt;
      if (d.priority !== undefined) view.priority = d.priority;
      if (d.enqueuedBy !== undefined) view.enqueuedBy = d.enqueuedBy;
      if (d.scheduleId !== undefined) view.scheduleId = d.scheduleId;
      if (d.fireTime !== undefined) view.fireTime = d.fireTime;
      if (d.after !== undefined) view.after = d.after;
      if (d.on !== undefined) view.on = d.on;
      view.updatedAt = d.enqueuedAt;
      return view;
    },

    JobStarted: function (state, event) {
      if (!isView(state)) return state;
      var d = event.body;
      drop(state, ['progress', 'result', 'completedAt', 'durationMs', 'retryAt', 'cancelRequested']);
      state.status = 'in_progress';
      state.attempts = d.attempt;
      state.workerId = d.workerId;
      state.backgroundJobId = d.backgroundJobId;
      state.startedAt = d.startedAt;
      state.updatedAt = d.startedAt;
      return state;
    },

    JobProgressed: function (state, event) {
      if (!isView(state)) return state;
      var d = event.body;
      var progress = { at: d.at };
      if (d.percent !== undefined) progress.percent = d.percent;
      if (d.message !== undefined) progress.message = d.message;
      state.progress = progress;
      state.updatedAt = d.at;
      return state;
    },

    JobCompleted: function (state, event) {
      if (!isView(state)) return state;
      var d = event.body;
      drop(state, ['retryAt', 'cancelRequested']);
      state.status = 'completed';
      state.completedAt = d.completedAt;
      state.durationMs = d.durationMs;
      if (d.result !== undefined) state.result = d.result;
      state.updatedAt = d.completedAt;
      return state;
    },

    JobErrored: function (state, event) {
      if (!isView(state)) return state;
      var d = event.body;
      drop(state, ['retryAt', 'durationMs', 'cancelRequested']);
      state.status = 'errored';
      state.attempts = d.attempt;
      state.erroredAt = d.erroredAt;
      if (d.durationMs !== undefined) state.durationMs = d.durationMs;
      var lastError = copyOwn(d.error, {});
      lastError.attempt = d.attempt;
      state.lastError = lastError;
      // An interrupted attempt (a shutdown, a lost process) is counted apart from maxAttempts.
      if (d.interrupted === true) state.interruptions = (state.interruptions !== undefined ? state.interruptions : 0) + 1;
      if (d.retryAt !== undefined) state.retryAt = d.retryAt;
      // Timed out while its action runs on (it ignores its signal): "timed out, still running" until JobActionReturned.
      if (d.actionRunning === true) {
        var runningActions = state.actionsRunning !== undefined ? state.actionsRunning.slice() : [];
        var entry = { attempt: d.attempt, since: d.erroredAt };
        if (state.workerId !== undefined) entry.workerId = state.workerId;
        runningActions.push(entry);
        state.actionsRunning = runningActions;
      }
      state.updatedAt = d.erroredAt;
      return state;
    },

    JobReset: function (state, event) {
      if (!isView(state)) return state;
      var d = event.body;
      drop(state, ['retryAt', 'cancelReason']);
      state.status = 'initial';
      if (d.reason === 'manual') {
        state.attemptBase = state.attempts;
        delete state.interruptions;
      }
      var lastReset = { at: d.at, reason: d.reason };
      if (d.by !== undefined) lastReset.by = d.by;
      state.lastReset = lastReset;
      state.updatedAt = d.at;
      return state;
    },

    JobCancelled: function (state, event) {
      if (!isView(state)) return state;
      var d = event.body;
      drop(state, ['retryAt', 'cancelRequested']);
      state.status = 'cancelled';
      state.cancelledAt = d.at;
      if (d.reason !== undefined) state.cancelReason = d.reason;
      state.updatedAt = d.at;
      return state;
    },

    // A continuation leaves `awaiting`.
    JobReleased: function (state, event) {
      if (!isView(state)) return state;
      var d = event.body;
      var parents = [];
      for (var i = 0; i < d.parents.length; i++) parents.push({ jobId: d.parents[i].jobId, status: d.parents[i].status });
      state.status = 'initial';
      state.released = { at: d.at, parents: parents };
      state.updatedAt = d.at;
      return state;
    },

    // The running attempt's cancel was requested: still in_progress until the attempt ends.
    JobCancelRequested: function (state, event) {
      if (!isView(state)) return state;
      var d = event.body;
      var request = { at: d.at, attempt: d.attempt };
      if (d.by !== undefined) request.by = d.by;
      if (d.reason !== undefined) request.reason = d.reason;
      state.cancelRequested = request;
      state.updatedAt = d.at;
      return state;
    },

    // A parent records a continuation that waits for it; its status does not change.
    JobContinuationAdded: function (state, event) {
      if (!isView(state)) return state;
      var d = event.body;
      var children = state.children !== undefined ? state.children.slice() : [];
      children.push(d.childJobId);
      state.children = children;
      state.updatedAt = d.at;
      return state;
    },

    // The late return of a timed-out action: changes neither the status nor updatedAt.
    JobActionReturned: function (state, event) {
      if (!isView(state)) return state;
      var d = event.body;
      var rest = [];
      var all = state.actionsRunning !== undefined ? state.actionsRunning : [];
      for (var i = 0; i < all.length; i++) if (all[i].attempt !== d.attempt) rest.push(all[i]);
      if (rest.length > 0) state.actionsRunning = rest;
      else delete state.actionsRunning;
      return state;
    },

    // Purged (docs/retention.md): the job is gone from every list; its stream is deleted next.
    JobPurged: function () {
      return { status: 'none' };
    }
  });
