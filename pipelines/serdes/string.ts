import { WeirError } from '../../core/errors.js';
import type { Serde } from '../core/contracts.js';

function checked(value: string): string {
  if (typeof value !== 'string') throw new WeirError('invalid_argument', `string serde: expected a string, got ${Array.isArray(value) ? 'an array' : typeof value}`);
  return value;
}

/** UTF-8 strings. Null stays null (a Kafka null key or tombstone); a non-string is refused, not coerced. */
export function string(): Serde<string> {
  return {
    name: 'string',
    copies: true,
    serialize(value: string): Buffer | null {
      if (value === null || value === undefined) return null;
      return Buffer.from(checked(value), 'utf8');
    },
    serializeText(value: string): string | null {
      if (value === null || value === undefined) return null;
      return checked(value);
    },
    deserialize: (bytes: Buffer | null): string => (bytes === null ? (null as unknown as string) : bytes.toString('utf8')),
    deserializeAt: (buf: Buffer, start: number, length: number): string => (length < 0 ? (null as unknown as string) : buf.toString('utf8', start, start + length)),
  };
}
