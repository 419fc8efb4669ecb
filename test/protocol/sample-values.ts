/**
 * Builds representative values for any message version straight from its schema, so the round
 * trip tests cover every field of every spec (and new specs) without hand-written fixtures.
 */
import { createDefaultValue } from '../../core/protocol/compile.js';
import { inVersions, type FieldSchema, type MessageSchema, type TaggedField } from '../../core/protocol/types.js';

export type Variant =
  /** Every present field non-default; nullable fields non-null. */
  | 'full'
  /** Like full, but every field that is nullable in this version is null. */
  | 'nulls';

type Obj = Record<string, unknown>;

/** Unknown tags well above any tag the specs use, ascending as a decoder would report them. */
function unknownTags(seed: number): TaggedField[] {
  return [
    { tag: 1000 + seed, data: Buffer.from([seed & 0xff, 0xab]) },
    { tag: 40000, data: Buffer.alloc(0) },
  ];
}

class Sampler {
  private counter = 0;

  constructor(
    private readonly version: number,
    private readonly flexible: boolean,
    private readonly variant: Variant,
  ) {}

  struct(fields: readonly FieldSchema[]): Obj {
    const o: Obj = createDefaultValue(fields);
    for (const f of fields) {
      if (!inVersions(f.versions, this.version)) continue;
      o[f.name] = this.field(f, o[f.name]);
    }
    if (this.flexible) o._unknownTaggedFields = unknownTags(++this.counter);
    return o;
  }

  private field(f: FieldSchema, dflt: unknown): unknown {
    if (this.variant === 'nulls' && inVersions(f.nullableVersions, this.version)) return null;
    if (f.type.startsWith('[]')) {
      const elem = f.type.slice(2);
      return [this.element(elem, f, undefined), this.element(elem, f, undefined)];
    }
    return this.element(f.type, f, dflt);
  }

  /** A value of `type` that differs from `dflt` (the field's default, when known). */
  private element(type: string, f: FieldSchema, dflt: unknown): unknown {
    const n = ++this.counter;
    const distinct = <T>(v: T, alt: T): T => (v === dflt ? alt : v);
    switch (type) {
      case 'bool':
        return dflt !== true;
      case 'int8':
        return distinct(n % 100, (n % 100) + 1);
      case 'int16':
        return distinct(-(300 + n), 300 + n);
      case 'uint16':
        return 60000 + (n % 5000);
      case 'int32':
        return distinct(70000 + n, -(70000 + n));
      case 'uint32':
        return 3_000_000_000 + n; // above 2^31: catches signed/unsigned mix-ups
      case 'int64':
        return distinct(-(2n ** 40n) - BigInt(n), 2n ** 40n + BigInt(n));
      case 'float64':
        return n + 0.25;
      case 'string':
        // Multi-byte characters check byte (not UTF-16) lengths; every few strings is long
        // enough to need a two-byte compact length.
        return `${f.name}-${n}-ü€` + (n % 5 === 0 ? 'x'.repeat(200) : '');
      case 'uuid':
        return `${n.toString(16).padStart(8, '0')}-0000-4000-8000-${(n * 7919).toString(16).padStart(12, '0')}`;
      case 'bytes':
        return Buffer.from([1, 2, 3, n & 0xff]);
      case 'records':
        return Buffer.from(`records-${n}`);
      default:
        return this.struct(f.fields ?? []);
    }
  }
}

export function sampleValue(schema: MessageSchema, version: number, variant: Variant): Obj {
  return new Sampler(version, inVersions(schema.flexibleVersions, version), variant).struct(schema.fields);
}

export function versionsOf(schema: { validVersions: { min: number; max: number } }): number[] {
  const out: number[] = [];
  for (let v = schema.validVersions.min; v <= schema.validVersions.max; v++) out.push(v);
  return out;
}
