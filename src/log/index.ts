export { makeLogger, redactUrl, silentLogger } from './logger.js';
export type { Logger } from './logger.js';
