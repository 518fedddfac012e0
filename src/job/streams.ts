import type { JobId } from './events.js';

/** The category of job streams: EventStoreDB's text before the first `-`. */
export const jobCategory = 'job';
/** The prefix of every job stream name. */
export const jobStreamPrefix = `${jobCategory}-`;

/** `job-<jobId>`. */
export const jobStreamName = (jobId: JobId | string): string => `${jobStreamPrefix}${jobId}`;

/** The job id of a job stream name, or `undefined` when it is not one. */
export const jobIdOfStream = (stream: string): string | undefined =>
  stream.startsWith(jobStreamPrefix) ? stream.slice(jobStreamPrefix.length) : undefined;
