// How jobs read for people, shared by the CLI, the dashboard and the demo (none of which imports another).
export {
  attemptOf,
  eventSummary,
  formatDuration,
  formatHistory,
  formatJobTable,
  formatView,
  historyJsonLine,
  traceLine,
  traceRow,
  viewAt,
} from './format.js';
