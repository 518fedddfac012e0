/** True for EventStoreDB's system streams: names starting with `$`. */
export const isSystemStream = (stream: string): boolean => stream.startsWith('$');

/**
 * Whether a stream passes a `streamPrefix` filter of `readAll` / `subscribe`:
 * with no prefix (or an empty one), every stream but the system ones; with a
 * prefix, the streams that start with it (system streams only when the prefix
 * itself starts with `$`).
 */
export const matchesStreamPrefix = (stream: string, prefix: string | undefined): boolean =>
  prefix === undefined || prefix === '' ? !isSystemStream(stream) : stream.startsWith(prefix);

/**
 * The category of a stream as EventStoreDB's `$by_category` projection sees
 * it: the text before the first `-` (`job-42` → `job`); `undefined` when the
 * name has no `-`.
 */
export const categoryOf = (stream: string): string | undefined => {
  const dash = stream.indexOf('-');
  return dash < 0 ? undefined : stream.slice(0, dash);
};
