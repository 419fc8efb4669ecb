/**
 * Loads an optional (usually native, N-API) dependency lazily and at most once.
 *
 * Codec libraries ship prebuilt binaries per platform; on a platform without one the require
 * throws. Loading lazily keeps such a failure local to the codec that needs it (a gzip-only
 * deployment never touches zstd), and reporting it as 'unsupported' lets the agent answer the
 * client with a Kafka error instead of crashing.
 */
import { createRequire } from 'node:module';
import { WeirError } from '../errors.js';

const requireCjs = createRequire(import.meta.url);

export interface OptionalModule<T> {
  /** The module, or throws WeirError 'unsupported' naming the package and the load error. */
  get(): T;
  /** The module, or null if it cannot be loaded here. */
  tryGet(): T | null;
}

export function optionalModule<T>(name: string, purpose: string): OptionalModule<T> {
  let loaded = false;
  let mod: T | null = null;
  let error: unknown;
  const load = (): void => {
    if (loaded) return;
    loaded = true;
    try {
      mod = requireCjs(name) as T;
    } catch (e) {
      error = e;
    }
  };
  return {
    get(): T {
      load();
      if (mod === null) {
        throw new WeirError('unsupported', `${purpose} is unavailable: package ${name} failed to load`, {
          cause: error,
        });
      }
      return mod;
    },
    tryGet(): T | null {
      load();
      return mod;
    },
  };
}
