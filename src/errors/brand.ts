/**
 * Makes `value instanceof cls` true for instances made by any copy of
 * jobtrail loaded in the process, not only this one: a workers module may
 * import another copy than the CLI's (a nested install, a linked package, two
 * versions). The class's prototype carries `Symbol.for('jobtrail.<name>')`,
 * which every copy shares, and `instanceof` looks for it. Subclasses that are
 * not branded themselves keep the ordinary prototype check.
 *
 * The same idea as Temporal's `SymbolBasedInstanceOfError`.
 */
/** The mark `brandClass(cls, name)` puts on `cls.prototype`, the same in every copy of jobtrail. */
export const brandMark = (name: string): symbol => Symbol.for(`jobtrail.${name}`);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any constructor, abstract ones included
export const brandClass = (cls: abstract new (...args: any[]) => unknown, name: string): void => {
  const mark = brandMark(name);
  Object.defineProperty(cls.prototype, mark, { value: true, enumerable: false });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value(this: unknown, value: unknown): boolean {
      if (this !== cls) return Function.prototype[Symbol.hasInstance].call(this, value);
      if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
      // The mark sits on the class's prototype: an instance (or a subclass's prototype) inherits it;
      // the prototype that owns it is the class itself, not an instance.
      return (value as Record<symbol, unknown>)[mark] === true && !Object.prototype.hasOwnProperty.call(value, mark);
    },
  });
};
