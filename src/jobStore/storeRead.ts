import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { StoreUnavailableError } from '../errors/index.js';
import type { StoreUnavailable } from '../eventStore/index.js';

/**
 * Runs a store read and gives its value, or throws `StoreUnavailableError`
 * (its message after `what`, when given): the port's tagged failure turned
 * into the facade's thrown one, in one place.
 */
export const storeRead = async <A>(task: TE.TaskEither<StoreUnavailable, A>, what?: string): Promise<A> => {
  const r = await task();
  if (E.isLeft(r)) throw new StoreUnavailableError(what === undefined ? r.left.message : `${what}: ${r.left.message}`);
  return r.right;
};
