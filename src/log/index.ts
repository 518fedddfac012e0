export { lazyChild, makeLogger, silentLogger } from './logger.js';
export type { Logger } from './logger.js';
export { makeScrubber, redactUrl } from './redactUrl.js';
