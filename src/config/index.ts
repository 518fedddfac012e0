export { ConfigError, EnvConfig, readEnvConfig } from './config.js';
export { DurationError, formatDurationMs, parseDuration } from './duration.js';
export { checkConfigFile, configFileKeys, ConfigFileSettings } from './configFile.js';
export type { ProjectConfig } from './configFile.js';
