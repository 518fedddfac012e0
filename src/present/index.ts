// How jobs read for people, shared by the CLI, the dashboard and the demo (none of which imports another).
export {
  actionsRunningText,
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
export {
  displayStatus,
  DisplayStatuses,
  matchesStatusFilter,
  parseStatusFilter,
  statusFilterChoices,
  statusLabel,
  statusLabels,
  storedStatusOf,
} from './status.js';
export type { DisplayStatus, StatusFilter } from './status.js';
