import { randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

// uuid's own v7 asks crypto.getRandomValues for 16 bytes per id, which costs
// more than the rest of the id: here the random bytes come from a pool
// refilled 4 KiB at a time, and the id keeps uuid's monotonic counter (ids
// made in the same millisecond by this process stay in the order made).
const pool = new Uint8Array(16 * 256);
let taken = pool.length;
let msecs = -Infinity;
let seq = 0;

/** A new job id: a UUID v7, time-ordered, as `uuid`'s `v7()` makes it. */
export const newJobId = (): string => {
  if (taken === pool.length) {
    randomFillSync(pool);
    taken = 0;
  }
  const random = pool.subarray(taken, (taken += 16));
  const now = Date.now();
  if (now > msecs) {
    msecs = now;
    seq = (((random[6] as number) & 0x7f) << 24) | ((random[7] as number) << 16) | ((random[8] as number) << 8) | (random[9] as number);
  } else {
    seq = (seq + 1) | 0;
    if (seq === 0) msecs += 1;
  }
  return uuidv7({ random, msecs, seq });
};
