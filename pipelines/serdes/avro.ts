import avsc from 'avsc';
import { WeirError } from '../../core/errors.js';
import type { Serde } from '../core/contracts.js';

/**
 * Avro binary with a writer schema known to both sides (no schema registry framing). A value that
 * does not match the schema fails at serialize with a message naming the bad field, instead of
 * producing bytes a consumer cannot read.
 *
 * The type parameter is the record type the schema describes; give it explicitly
 * (`avro<Click>(schema)`): TypeScript cannot derive it from a runtime schema object.
 */
export function avro<T>(schema: avsc.Schema): Serde<T> {
  const type = avsc.Type.forSchema(schema);
  return {
    name: `avro(${(type as { name?: string }).name ?? type.typeName})`,
    // avsc (5.7) decodes into fresh values, bytes and fixed included (Tap.readFixed copies into
    // its own pool), so nothing decoded refers to the input; serdes-copies.test.ts checks it.
    copies: true,
    serialize(value: T): Buffer | null {
      if (value === null || value === undefined) return null;
      try {
        return type.toBuffer(value);
      } catch (e) {
        // Validate only on failure (encoding already checks types): the message names the fields.
        const errors: string[] = [];
        type.isValid(value, { errorHook: (path) => errors.push(path.join('.') || '(root)') });
        throw new WeirError('invalid_argument', `avro serde: value does not match the schema at ${errors.join(', ') || '(unknown)'}: ${(e as Error).message}`, { cause: e });
      }
    },
    deserialize(bytes: Buffer | null): T {
      if (bytes === null) return null as T;
      try {
        return type.fromBuffer(bytes) as T;
      } catch (e) {
        throw new WeirError('corrupt', `avro serde: cannot decode ${bytes.length} bytes: ${(e as Error).message}`, { cause: e });
      }
    },
  };
}
