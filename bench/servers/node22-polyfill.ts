/**
 * The Node 22 features PostGraphile 5 (grafast, @dataplan/pg, grafserv) uses that Node 20.20 lacks.
 * Found by searching their dist/ for Node 22 APIs: only `Promise.withResolvers` is called; `Symbol.asyncDispose`,
 * `Array.prototype.toReversed`/`findLast`/`at` and `structuredClone` already exist on Node 20. The Set methods are
 * mentioned only in a comment. Import first: `node --import tsx --import ./bench/servers/node22-polyfill.ts …`.
 */
type Resolvers<T> = { promise: Promise<T>; resolve: (value: T | PromiseLike<T>) => void; reject: (reason?: unknown) => void };

const PromiseWithResolvers = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> };

if (typeof PromiseWithResolvers.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(this: PromiseConstructor): Resolvers<T> {
      let resolve!: Resolvers<T>['resolve'];
      let reject!: Resolvers<T>['reject'];
      // `this` keeps subclass semantics (Promise.withResolvers.call(MyPromise)) as the standard method does.
      const promise = new this<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}
