export { brandClass, brandMark } from './brand.js';
export {
  BrokerUnavailableError,
  ErrorCodes,
  isJobtrailError,
  isStoreConfigurationError,
  JobtrailError,
  StoreAccessDeniedError,
  StoreUnavailableError,
  StoreUnsupportedError,
  TimeoutError,
} from './jobtrailError.js';
export type { ErrorCode } from './jobtrailError.js';
