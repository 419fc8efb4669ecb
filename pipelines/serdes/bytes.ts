import type { Serde } from '../core/contracts.js';

/** Raw bytes, passed through without a copy. */
export function bytes(): Serde<Buffer> {
  return {
    name: 'bytes',
    serialize: (value: Buffer): Buffer | null => value ?? null,
    deserialize: (b: Buffer | null): Buffer => b as Buffer,
  };
}
