// job-index: EventStoreDB only (the embedded mode lists jobs from its SQL
// tables and never runs this file). It links job events into index streams, so
// that a list reads only the entries that can match its filter instead of
// walking every event of `$ce-job`:
//
//   $jobtrail-index-all                   every JobEnqueued
//   $jobtrail-index-worker-<workerName>   every JobEnqueued of that worker
//   $jobtrail-index-status-<status>       every event that moves a job into <status>
//                                         (JobContinuationAdded and JobProgressed move none)
//
// An index stream only grows: an entry of `$jobtrail-index-status-initial` stays
// after its job moved on. A list reads the index backwards, reads each
// candidate's job-view state and keeps a job only at the entry matching that
// state (src/projections/esdbList.ts). The streams start with `$` so that
// `$by_category` does not link the links again into a `$ce-` stream.
//
// It calls linkTo, so EventStoreDB runs it only with emitEnabled (set by
// `jobtrail projections install`).

var statusOf = {
  JobEnqueued: 'initial',
  JobReleased: 'initial',
  JobStarted: 'in_progress',
  JobCompleted: 'completed',
  JobErrored: 'errored',
  JobReset: 'initial',
  JobCancelled: 'cancelled'
};

fromCategory('job').when({
  $init: function () {
    return {};
  },
  $any: function (state, event) {
    if (event.eventType === 'JobEnqueued') {
      linkTo('$jobtrail-index-all', event);
      linkTo('$jobtrail-index-worker-' + event.body.workerName, event);
    }
    var status = statusOf[event.eventType];
    // A continuation is enqueued `awaiting` (its JobEnqueued names its parents in `after`).
    if (event.eventType === 'JobEnqueued' && event.body.after !== undefined) status = 'awaiting';
    if (status !== undefined) linkTo('$jobtrail-index-status-' + status, event);
    return state;
  }
});
