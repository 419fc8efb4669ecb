import { WeirError } from '../../core/errors.js';
import type { Serde } from '../core/contracts.js';

function parse<T>(text: string, bytes: number): T {
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new WeirError('corrupt', `json serde: cannot parse ${bytes} bytes: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * JSON as UTF-8. The type parameter is a promise the user makes about the topic's contents; the
 * serde does not validate shapes (use Avro for that). A Kafka null deserializes to null, so a
 * tombstone is visible rather than a parse error.
 */
export function json<T = unknown>(): Serde<T> {
  return {
    name: 'json',
    copies: true,
    serialize(value: T): Buffer | null {
      if (value === null || value === undefined) return null;
      return Buffer.from(JSON.stringify(value), 'utf8');
    },
    serializeText(value: T): string | null {
      if (value === null || value === undefined) return null;
      return JSON.stringify(value);
    },
    deserialize(bytes: Buffer | null): T {
      if (bytes === null) return null as T;
      return parse<T>(bytes.toString('utf8'), bytes.length);
    },
    deserializeAt(buf: Buffer, start: number, length: number): T {
      if (length < 0) return null as T;
      return parse<T>(buf.toString('utf8', start, start + length), length);
    },
  };
}
