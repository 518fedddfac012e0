export {
  applyProcessEvent,
  newProcessRecord,
  processDirectoryStream,
  ProcessEvents,
  processRecovery,
  processStatus,
  processStreamName,
  processStreamPrefix,
} from './record.js';
export type {
  ProcessInfo,
  ProcessRecord,
  ProcessRecovery,
  ProcessStatus,
  ProcessWorker,
  RecoveredAttempt,
  StatusOptions,
} from './record.js';
export { listProcesses, makeProcessReader, processDefaults, readProcessStream } from './reader.js';
export type { ListProcessesOptions, ProcessReader, ProcessReaderOptions, ProcessSummary } from './reader.js';
export { describeProcess, processStreamKeepLast, startHeartbeat } from './heartbeat.js';
export type { Heartbeat, HeartbeatDeps } from './heartbeat.js';
export { makeProcessRetention, noteRecovered } from './housekeeping.js';
export type { ProcessRetentionOptions } from './housekeeping.js';
export { ago, concurrencyText, statusText } from './present.js';
