/** The label value that stands for every pair beyond the bound. */
export const otherLabel = '(other)';

/** `{worker, queue}` labels with a bounded number of distinct pairs. */
export interface LabelBound {
  /** The labels of a pair: its own while fewer than `max` pairs were seen (or this one was), else `(other)` for both. */
  labels(worker: string, queue: string): { readonly worker: string; readonly queue: string };
  /** Pairs with labels of their own. */
  readonly size: number;
}

/**
 * Bounds label cardinality: worker names come from definitions and queue names from enqueues, so both are few in any
 * sane setup, but a queue per tenant (or a bug) must not make a series per value. The first `max` pairs seen keep their
 * names; every later pair is counted under `(other)`, and `onOverflow` is called for each such observation.
 */
export const makeLabelBound = (max: number, onOverflow: () => void = () => undefined): LabelBound => {
  if (!Number.isInteger(max) || max < 1) throw new TypeError(`metrics.maxSeries must be a whole number ≥ 1, got ${max}`);
  const known = new Map<string, { readonly worker: string; readonly queue: string }>();
  const other = { worker: otherLabel, queue: otherLabel };
  return {
    labels(worker, queue) {
      // NUL cannot occur in a worker name or a queue name: the key is unambiguous.
      const key = `${worker}\u0000${queue}`;
      const found = known.get(key);
      if (found !== undefined) return found;
      if (known.size >= max) {
        onOverflow();
        return other;
      }
      const labels = { worker, queue };
      known.set(key, labels);
      return labels;
    },
    get size() {
      return known.size;
    },
  };
};
