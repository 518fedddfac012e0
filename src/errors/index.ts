export { brandClass, brandMark } from './brand.js';
export {
  BrokerUnavailableError,
  ErrorCodes,
  isJobtrailError,
  JobtrailError,
  StoreUnavailableError,
  TimeoutError,
} from './jobtrailError.js';
export type { ErrorCode } from './jobtrailError.js';
