// Typing a producer by the workers' types, which a service that only enqueues can import as types
// (`import type`), never loading the workers' code (issue 23).
import type { Worker } from '../worker/worker.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyWorker = Worker<any, any>;

/** A worker, or what a module exports for one: an instance (defineWorker), or a Worker subclass. */
type Instance<X> = X extends AnyWorker
  ? X
  : X extends abstract new (...args: never[]) => infer I
    ? I extends AnyWorker
      ? I
      : never
    : never;

/** The workers `W` names: a workers module's type, an array (or tuple) of workers, or a worker (union). */
export type WorkersIn<W> = W extends readonly unknown[] ? Instance<W[number]> : W extends AnyWorker ? W : Instance<W[keyof W]>;

/** Their names: literal where `defineWorker({ name: 'x' })` or `readonly name = 'x'` gave one. */
export type WorkerNames<W> = WorkersIn<W>['name'];

/** The payload the worker named `N` takes. */
export type PayloadOf<W, N> =
  WorkersIn<W> extends infer X ? (X extends Worker<infer P, unknown> ? (N extends X['name'] ? P : never) : never) : never;

/** `enqueue`'s name: any string for an untyped producer, else one of the workers' names. */
export type WorkerNameArg<W> = [unknown] extends [W] ? string : WorkerNames<W>;
/** `enqueue`'s payload: anything for an untyped producer, else the named worker's payload. */
export type PayloadArg<W, N> = [unknown] extends [W] ? unknown : PayloadOf<W, N>;
