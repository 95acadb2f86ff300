/**
 * Store latency for `tessera_store_operation_seconds`, measured around the store ports at wiring
 * time (src/main.ts) instead of inside every adapter: one wrapper covers SQLite, Redis,
 * PostgreSQL and memory alike, and the adapters stay free of metrics.
 *
 * Cost per call, on purpose small since the accept path is the hub's hot path: one
 * `process.hrtime.bigint()` pair, one extra promise reaction, one histogram sample. The wrapper
 * calls the adapter's own method with the adapter as `this`, so an adapter calling its other
 * methods internally is not measured twice.
 */
import type { StoreObserver } from './hub-metrics';

/** Creates the observer of one operation of one store, e.g. `('sessions', 'acceptHandoff')`. */
export type StoreObserverFactory = (store: string, operation: string) => StoreObserver;

/**
 * `store` with every method timed under `name`. The result reads every other property through
 * to the adapter (its prototype is the adapter), so it is used exactly like the adapter.
 *
 * @example
 * const sessions = timeStore(opened.sessions, 'sessions', (store, op) => metrics.storeObserver(store, op));
 */
export function timeStore<T extends object>(store: T, name: string, observerFor: StoreObserverFactory): T {
  const timed = Object.create(store) as T;
  for (const operation of methodNames(store)) {
    const original = (store as Record<string, unknown>)[operation] as (...args: unknown[]) => unknown;
    const observe = observerFor(name, operation);
    Object.defineProperty(timed, operation, {
      value: function timedOperation(...args: unknown[]): unknown {
        const started = process.hrtime.bigint();
        const done = (): void => observe(Number(process.hrtime.bigint() - started) / 1e9);
        let result: unknown;
        try {
          result = original.apply(store, args);
        } catch (err) {
          done();
          throw err;
        }
        if (!isPromiseLike(result)) {
          done();
          return result;
        }
        return result.then(
          (value) => {
            done();
            return value;
          },
          (err: unknown) => {
            done();
            throw err;
          },
        );
      },
      writable: false,
      enumerable: false,
    });
  }
  return timed;
}

/** Every method of `store`, own or inherited from its class chain (not from Object). */
function methodNames(store: object): string[] {
  const names = new Set<string>();
  for (let proto: object | null = store; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key === 'constructor') continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, key);
      if (descriptor !== undefined && typeof descriptor.value === 'function') names.add(key);
    }
  }
  return [...names];
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
