export { ConfigError, EnvConfig, readEnvConfig } from './config.js';
