import { WeirError } from '../../core/errors.js';
import type { Serde } from '../core/contracts.js';

/** UTF-8 strings. Null stays null (a Kafka null key or tombstone); a non-string is refused, not coerced. */
export function string(): Serde<string> {
  return {
    name: 'string',
    serialize(value: string): Buffer | null {
      if (value === null || value === undefined) return null;
      if (typeof value !== 'string') throw new WeirError('invalid_argument', `string serde: expected a string, got ${Array.isArray(value) ? 'an array' : typeof value}`);
      return Buffer.from(value, 'utf8');
    },
    deserialize: (bytes: Buffer | null): string => (bytes === null ? (null as unknown as string) : bytes.toString('utf8')),
  };
}
