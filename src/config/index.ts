export { ConfigError, EnvConfig, readEnvConfig } from './config.js';
export { DurationError, formatDurationMs, parseDuration } from './duration.js';
export { checkConfigFile, configFileKeys, ConfigFileSettings } from './configFile.js';
export type { ProjectConfig } from './configFile.js';
export { checkQueuesSetting, checkRetentionSetting } from './operatorSettings.js';
export type { QueueSettings, RetentionSettings } from './operatorSettings.js';
