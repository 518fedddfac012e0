// `jobtrail/testing`: unit-test workers without a store or a broker.
export { runAction } from './runAction.js';
export type { ActionRun, RecordedProgress, RunActionOptions } from './runAction.js';
