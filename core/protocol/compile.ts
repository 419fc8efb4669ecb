/**
 * Turns a (schema, version) pair into specialized encode/decode closures, once, lazily, cached.
 *
 * All version questions (is this field present, nullable, tagged, compact?) are answered at
 * compile time, so the per-message work is a walk over precomputed arrays of closures. Values
 * are plain objects whose property names are the schema's field names; the compiled code reads
 * and writes them with `any` because the schema, not TypeScript, is the source of truth here
 * (the generated interfaces give callers their static types).
 */
import { WeirError } from '../errors.js';
import { corrupt, Reader } from './reader.js';
import { inVersions, type FieldSchema, type MessageSchema, type TaggedField } from './types.js';
import { uvarintSize, Writer } from './writer.js';

export interface Codec {
  /** Encoded size when it never varies, else -1 (lets arrays and structs skip per-value sizing). */
  readonly fixedSize: number;
  /** Lower bound of the encoded size, to reject absurd array counts before allocating. */
  readonly minSize: number;
  size(v: any): number;
  write(w: Writer, v: any): void;
  read(r: Reader): any;
}

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const EMPTY_BUFFER = Buffer.alloc(0);
const EMPTY_ARRAY: readonly unknown[] = Object.freeze([]);

const PRIMITIVES = new Set([
  'bool',
  'int8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'float64',
  'string',
  'uuid',
  'bytes',
  'records',
]);

function invalid(path: string, message: string): WeirError {
  return new WeirError('invalid_argument', `${path}: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Fixed-size primitives

function fixed(size: number, write: (w: Writer, v: any) => void, read: (r: Reader) => any): Codec {
  return { fixedSize: size, minSize: size, size: () => size, write, read };
}

const BOOL = fixed(
  1,
  (w, v) => w.int8(v ? 1 : 0),
  (r) => r.uint8() !== 0,
);
const INT8 = fixed(
  1,
  (w, v) => w.int8(v),
  (r) => r.int8(),
);
const INT16 = fixed(
  2,
  (w, v) => w.int16(v),
  (r) => r.int16(),
);
const UINT16 = fixed(
  2,
  (w, v) => w.int16(v),
  (r) => r.uint16(),
);
const INT32 = fixed(
  4,
  (w, v) => w.int32(v),
  (r) => r.int32(),
);
const UINT32 = fixed(
  4,
  (w, v) => w.int32(v),
  (r) => r.uint32(),
);
const INT64 = fixed(
  8,
  (w, v) => w.int64(v),
  (r) => r.int64(),
);
const FLOAT64 = fixed(
  8,
  (w, v) => w.float64(v),
  (r) => r.float64(),
);
const UUID = fixed(
  16,
  (w, v) => w.uuid(v),
  (r) => r.uuid(),
);

// ---------------------------------------------------------------------------------------------
// Variable-length primitives: classic (int16/int32 length, -1 = null) and compact (uvarint
// length + 1, 0 = null) forms.

function stringCodec(nullable: boolean, compact: boolean, path: string): Codec {
  const checkNull = (v: any): boolean => {
    if (v === null) {
      if (!nullable) throw invalid(path, 'null is not allowed in this version');
      return true;
    }
    if (typeof v !== 'string') throw invalid(path, `expected a string, got ${typeof v}`);
    return false;
  };
  const readNull = (): null => {
    if (!nullable) throw corrupt(`${path}: null in a non-nullable string`);
    return null;
  };
  if (compact) {
    return {
      fixedSize: -1,
      minSize: 1,
      size(v) {
        if (checkNull(v)) return 1;
        const n = Buffer.byteLength(v, 'utf8');
        return uvarintSize(n + 1) + n;
      },
      write(w, v) {
        if (v === null) return w.uvarint(0);
        // Up to 42 UTF-16 units encode to at most 126 bytes, so the prefix is one byte and the
        // string can be written first and measured, saving a second byteLength pass.
        if (v.length <= 42) {
          const n = w.utf8(v, w.pos + 1);
          w.buf[w.pos] = n + 1;
          w.pos += 1 + n;
          return;
        }
        const n = Buffer.byteLength(v, 'utf8');
        w.uvarint(n + 1);
        w.pos += w.utf8(v, w.pos);
      },
      read(r) {
        const n = r.uvarint();
        if (n === 0) return readNull();
        return r.utf8(n - 1);
      },
    };
  }
  return {
    fixedSize: -1,
    minSize: 2,
    size(v) {
      if (checkNull(v)) return 2;
      const n = Buffer.byteLength(v, 'utf8');
      if (n > 0x7fff) throw invalid(path, `string of ${n} bytes exceeds the int16 length limit`);
      return 2 + n;
    },
    write(w, v) {
      if (v === null) return w.int16(-1);
      const n = w.utf8(v, w.pos + 2);
      w.int16(n);
      w.pos += n;
    },
    read(r) {
      const n = r.int16();
      if (n === -1) return readNull();
      if (n < 0) throw corrupt(`${path}: negative string length ${n}`);
      return r.utf8(n);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// bytes and records: length-prefixed raw bytes, decoded as zero-copy subarrays. On encode a
// records value may also be an array of Buffers meaning their concatenation (a partition's
// batches read from several stored pieces), written in sequence.
//
// Gather encoding (encodeMessageGather, encodeResponseGather) references these payloads instead
// of copying them: every records piece, and bytes values of at least GATHER_MIN_BYTES. The
// structure buffer must be sized without them, in the same single size pass, so while
// `gatherSizing` is set the size functions below add the bytes they will reference to it. It is
// set only around a size pass (the write pass re-sizes tagged fields and must not count twice).

/** bytes values at least this long are referenced, not copied, by the gather encoders. */
export const GATHER_MIN_BYTES = 4096;

let gatherSizing: { external: number } | null = null;

/**
 * Runs a size pass for a gather encode: its result, and how many of those bytes are payloads a
 * gathering Writer will reference rather than write into its buffer.
 */
export function sizeForGather(sizePass: () => number): { size: number; external: number } {
  const prev = gatherSizing;
  const state = { external: 0 };
  gatherSizing = state;
  try {
    return { size: sizePass(), external: state.external };
  } finally {
    gatherSizing = prev;
  }
}

/** Total length of a records value already validated as a Buffer or an array of Buffers. */
function piecesLength(v: Uint8Array | readonly Uint8Array[]): number {
  if (v instanceof Uint8Array) return v.length;
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]!.length;
  return n;
}

function payloadCodec(records: boolean, nullable: boolean, compact: boolean, path: string): Codec {
  /** The payload length, or -1 for null; validates the value. */
  const lengthOf = (v: any): number => {
    if (v === null) {
      if (!nullable) throw invalid(path, 'null is not allowed in this version');
      return -1;
    }
    if (v instanceof Uint8Array) return v.length;
    if (!records || !Array.isArray(v)) {
      throw invalid(path, records ? 'expected a Buffer or an array of Buffers' : 'expected a Buffer');
    }
    let n = 0;
    for (let i = 0; i < v.length; i++) {
      const piece = v[i];
      if (!(piece instanceof Uint8Array)) throw invalid(`${path}[${i}]`, 'expected a Buffer');
      n += piece.length;
    }
    return n;
  };
  const noteExternal = records
    ? (n: number): void => {
        if (gatherSizing !== null) gatherSizing.external += n;
      }
    : (n: number): void => {
        if (gatherSizing !== null && n >= GATHER_MIN_BYTES) gatherSizing.external += n;
      };
  const writePayload = records
    ? (w: Writer, v: Uint8Array | readonly Uint8Array[]): void => {
        if (v instanceof Uint8Array) return w.ref(v);
        for (let i = 0; i < v.length; i++) w.ref(v[i]!);
      }
    : (w: Writer, v: Uint8Array): void => (v.length >= GATHER_MIN_BYTES ? w.ref(v) : w.bytes(v));
  const readNull = (): null => {
    if (!nullable) throw corrupt(`${path}: null in non-nullable bytes`);
    return null;
  };
  if (compact) {
    return {
      fixedSize: -1,
      minSize: 1,
      size(v) {
        const n = lengthOf(v);
        if (n < 0) return 1;
        noteExternal(n);
        return uvarintSize(n + 1) + n;
      },
      write(w, v) {
        if (v === null) return w.uvarint(0);
        w.uvarint(piecesLength(v) + 1);
        writePayload(w, v);
      },
      read(r) {
        const n = r.uvarint();
        if (n === 0) return readNull();
        return r.bytes(n - 1);
      },
    };
  }
  return {
    fixedSize: -1,
    minSize: 4,
    size(v) {
      const n = lengthOf(v);
      if (n < 0) return 4;
      noteExternal(n);
      return 4 + n;
    },
    write(w, v) {
      if (v === null) return w.int32(-1);
      w.int32(piecesLength(v));
      writePayload(w, v);
    },
    read(r) {
      const n = r.int32();
      if (n === -1) return readNull();
      if (n < 0) throw corrupt(`${path}: negative bytes length ${n}`);
      return r.bytes(n);
    },
  };
}

function arrayCodec(elem: Codec, nullable: boolean, compact: boolean, path: string): Codec {
  const elemFixed = elem.fixedSize;
  const elemMin = Math.max(1, elem.minSize);
  const checkNull = (v: any): boolean => {
    if (v === null) {
      if (!nullable) throw invalid(path, 'null is not allowed in this version');
      return true;
    }
    if (!Array.isArray(v)) throw invalid(path, 'expected an array');
    return false;
  };
  const elementsSize = (v: any[]): number => {
    if (elemFixed >= 0) return v.length * elemFixed;
    let s = 0;
    for (let i = 0; i < v.length; i++) s += elem.size(v[i]);
    return s;
  };
  const readElements = (r: Reader, n: number): any[] => {
    // Every element takes at least one byte, so a count beyond the remaining bytes is a lie;
    // checking before allocating keeps a hostile length from reserving gigabytes.
    if (n * elemMin > r.remaining()) {
      throw corrupt(`${path}: array of ${n} elements cannot fit in ${r.remaining()} remaining bytes`);
    }
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = elem.read(r);
    return out;
  };
  const readNull = (): null => {
    if (!nullable) throw corrupt(`${path}: null in a non-nullable array`);
    return null;
  };
  if (compact) {
    return {
      fixedSize: -1,
      minSize: 1,
      size: (v) => (checkNull(v) ? 1 : uvarintSize(v.length + 1) + elementsSize(v)),
      write(w, v) {
        if (v === null) return w.uvarint(0);
        w.uvarint(v.length + 1);
        for (let i = 0; i < v.length; i++) elem.write(w, v[i]);
      },
      read(r) {
        const n = r.uvarint();
        if (n === 0) return readNull();
        return readElements(r, n - 1);
      },
    };
  }
  return {
    fixedSize: -1,
    minSize: 4,
    size: (v) => (checkNull(v) ? 4 : 4 + elementsSize(v)),
    write(w, v) {
      if (v === null) return w.int32(-1);
      w.int32(v.length);
      for (let i = 0; i < v.length; i++) elem.write(w, v[i]);
    },
    read(r) {
      const n = r.int32();
      if (n === -1) return readNull();
      if (n < 0) throw corrupt(`${path}: negative array length ${n}`);
      return readElements(r, n);
    },
  };
}

/** Nullable struct fields are prefixed by an int8 presence marker: -1 null, 1 present. */
function nullableStructCodec(inner: Codec): Codec {
  return {
    fixedSize: -1,
    minSize: 1,
    size: (v) => (v === null ? 1 : 1 + inner.size(v)),
    write(w, v) {
      if (v === null) return w.int8(-1);
      w.int8(1);
      inner.write(w, v);
    },
    read: (r) => (r.int8() < 0 ? null : inner.read(r)),
  };
}

// ---------------------------------------------------------------------------------------------
// Defaults

interface FieldDefault {
  /** Used when encoding an undefined field; never mutated, so it can be shared. */
  readonly shared: unknown;
  /** Builds a fresh default for decoded values (arrays and structs callers may mutate). */
  readonly fresh: (() => unknown) | null;
  readonly isDefault: (v: any) => boolean;
}

const defaultCache = new WeakMap<FieldSchema, FieldDefault>();
const structDefaultCache = new WeakMap<readonly FieldSchema[], { shared: any; isDefault: (v: any) => boolean }>();

function elementType(type: string): string | null {
  return type.startsWith('[]') ? type.slice(2) : null;
}

function fieldDefault(f: FieldSchema): FieldDefault {
  let d = defaultCache.get(f);
  if (d === undefined) {
    d = computeFieldDefault(f);
    defaultCache.set(f, d);
  }
  return d;
}

function computeFieldDefault(f: FieldSchema): FieldDefault {
  const isNull = (v: any): boolean => v === null;
  if (f.default === null) return { shared: null, fresh: null, isDefault: isNull };
  if (elementType(f.type) !== null) {
    return { shared: EMPTY_ARRAY, fresh: () => [], isDefault: (v) => Array.isArray(v) && v.length === 0 };
  }
  if (!PRIMITIVES.has(f.type)) {
    const s = structDefault(f.fields ?? []);
    return { shared: s.shared, fresh: () => createDefaultValue(f.fields ?? []), isDefault: s.isDefault };
  }
  let value: unknown;
  switch (f.type) {
    case 'bool':
      value = f.default ?? false;
      break;
    case 'int64':
      value = f.default === undefined ? 0n : BigInt(f.default as number | bigint | string);
      break;
    case 'string':
      value = f.default ?? '';
      break;
    case 'uuid':
      value = f.default ?? ZERO_UUID;
      break;
    case 'bytes':
      return { shared: EMPTY_BUFFER, fresh: null, isDefault: (v) => v instanceof Uint8Array && v.length === 0 };
    case 'records':
      // Kafka's records default is null; a field that is never nullable gets empty bytes instead
      // so that encoding an omitted field stays valid.
      if (f.nullableVersions !== undefined) return { shared: null, fresh: null, isDefault: isNull };
      return {
        shared: EMPTY_BUFFER,
        fresh: null,
        isDefault: (v) => (v instanceof Uint8Array || Array.isArray(v)) && piecesLength(v) === 0,
      };
    default:
      value = f.default ?? 0;
  }
  if (typeof value === 'bigint') {
    const big = value;
    return { shared: big, fresh: null, isDefault: (v) => (typeof v === 'number' ? BigInt(v) === big : v === big) };
  }
  return { shared: value, fresh: null, isDefault: (v) => v === value };
}

function structDefault(fields: readonly FieldSchema[]): { shared: any; isDefault: (v: any) => boolean } {
  let s = structDefaultCache.get(fields);
  if (s === undefined) {
    const defaults = fields.map((f) => ({ name: f.name, d: fieldDefault(f) }));
    const shared: Record<string, unknown> = {};
    for (const { name, d } of defaults) shared[name] = d.shared;
    Object.freeze(shared);
    // Kafka compares a tagged struct with a freshly built one: every field, in every version.
    const isDefault = (v: any): boolean => {
      if (v === null || typeof v !== 'object') return false;
      if (v._unknownTaggedFields?.length > 0) return false;
      for (const { name, d } of defaults) {
        const x = v[name];
        if (x !== undefined && !d.isDefault(x)) return false;
      }
      return true;
    };
    s = { shared, isDefault };
    structDefaultCache.set(fields, s);
  }
  return s;
}

/** A value with every field at its default, as decoding a message with no fields would give. */
export function createDefaultValue(fields: readonly FieldSchema[]): any {
  const o: Record<string, unknown> = {};
  for (const f of fields) {
    const d = fieldDefault(f);
    o[f.name] = d.fresh === null ? d.shared : d.fresh();
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Structs

const Kind = { Absent: 0, Regular: 1, Tagged: 2 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

interface FieldPlan {
  readonly name: string;
  readonly kind: Kind;
  readonly codec: Codec | null;
  readonly d: FieldDefault;
}

interface TaggedPlan {
  readonly tag: number;
  readonly name: string;
  readonly codec: Codec;
  readonly isDefault: (v: any) => boolean;
}

const structCache = new WeakMap<readonly FieldSchema[], Map<number, Codec>>();

function structCodec(fields: readonly FieldSchema[], version: number, flexible: boolean, path: string): Codec {
  let byVersion = structCache.get(fields);
  if (byVersion === undefined) {
    byVersion = new Map();
    structCache.set(fields, byVersion);
  }
  const key = version * 2 + (flexible ? 1 : 0);
  let c = byVersion.get(key);
  if (c === undefined) {
    c = compileStruct(fields, version, flexible, path);
    byVersion.set(key, c);
  }
  return c;
}

function fieldCodec(f: FieldSchema, version: number, flexible: boolean, path: string): Codec {
  const compact = f.flexibleVersions === undefined ? flexible : inVersions(f.flexibleVersions, version);
  const nullable = inVersions(f.nullableVersions, version);
  const elem = elementType(f.type);
  if (elem !== null) {
    const elemCodec = PRIMITIVES.has(elem)
      ? primitiveCodec(elem, false, compact, `${path}[]`)
      : structCodec(requireFields(f, path), version, flexible, `${path}[]`);
    return arrayCodec(elemCodec, nullable, compact, path);
  }
  if (PRIMITIVES.has(f.type)) return primitiveCodec(f.type, nullable, compact, path);
  const inner = structCodec(requireFields(f, path), version, flexible, path);
  return nullable ? nullableStructCodec(inner) : inner;
}

function requireFields(f: FieldSchema, path: string): readonly FieldSchema[] {
  if (f.fields === undefined) throw new WeirError('internal', `${path}: struct type ${f.type} has no fields`);
  return f.fields;
}

function primitiveCodec(type: string, nullable: boolean, compact: boolean, path: string): Codec {
  switch (type) {
    case 'bool':
      return BOOL;
    case 'int8':
      return INT8;
    case 'int16':
      return INT16;
    case 'uint16':
      return UINT16;
    case 'int32':
      return INT32;
    case 'uint32':
      return UINT32;
    case 'int64':
      return INT64;
    case 'float64':
      return FLOAT64;
    case 'uuid':
      return UUID;
    case 'string':
      return stringCodec(nullable, compact, path);
    case 'bytes':
      return payloadCodec(false, nullable, compact, path);
    case 'records':
      return payloadCodec(true, nullable, compact, path);
    default:
      throw new WeirError('internal', `${path}: unknown primitive type ${type}`);
  }
}

function compileStruct(fields: readonly FieldSchema[], version: number, flexible: boolean, path: string): Codec {
  const plans: FieldPlan[] = [];
  const tagged: TaggedPlan[] = [];
  for (const f of fields) {
    const fpath = `${path}.${f.name}`;
    const d = fieldDefault(f);
    if (!inVersions(f.versions, version)) {
      plans.push({ name: f.name, kind: Kind.Absent, codec: null, d });
    } else if (flexible && f.tag !== undefined && inVersions(f.taggedVersions, version)) {
      const codec = fieldCodec(f, version, flexible, fpath);
      plans.push({ name: f.name, kind: Kind.Tagged, codec, d });
      tagged.push({ tag: f.tag, name: f.name, codec, isDefault: d.isDefault });
    } else {
      plans.push({ name: f.name, kind: Kind.Regular, codec: fieldCodec(f, version, flexible, fpath), d });
    }
  }
  tagged.sort((a, b) => a.tag - b.tag);

  const regular = plans.filter((p) => p.kind === Kind.Regular);
  const regularCodecs = regular.map((p) => p.codec!);
  const regularNames = regular.map((p) => p.name);
  const regularDefaults = regular.map((p) => p.d.shared);
  const variable = regular.filter((p) => p.codec!.fixedSize < 0);
  const variableCodecs = variable.map((p) => p.codec!);
  const variableNames = variable.map((p) => p.name);
  const variableDefaults = variable.map((p) => p.d.shared);
  let fixedTotal = 0;
  let minSize = flexible ? 1 : 0;
  for (const p of regular) {
    if (p.codec!.fixedSize >= 0) fixedTotal += p.codec!.fixedSize;
    minSize += p.codec!.minSize;
  }
  const readPlans = plans.map((p) => ({ name: p.name, codec: p.kind === Kind.Regular ? p.codec : null, d: p.d }));
  const knownTags = new Set(tagged.map((t) => t.tag));
  const taggedByTag = new Map(tagged.map((t) => [t.tag, t]));

  const checkStruct = (v: any): void => {
    if (v === null || typeof v !== 'object') throw invalid(path, `expected an object, got ${v === null ? 'null' : typeof v}`);
  };

  /** Unknown tagged fields to write: those whose tags this version does not know, by tag. */
  const unknownToWrite = (v: any): TaggedField[] | null => {
    const unk: TaggedField[] | undefined | null = v._unknownTaggedFields;
    if (unk == null || unk.length === 0) return null;
    const out = unk.filter((u) => !knownTags.has(u.tag));
    for (let i = 1; i < out.length; i++) {
      if (out[i]!.tag < out[i - 1]!.tag) return out.sort((a, b) => a.tag - b.tag);
    }
    return out;
  };

  const taggedSize = (v: any): number => {
    let count = 0;
    let s = 0;
    for (const t of tagged) {
      const x = v[t.name];
      if (x === undefined || t.isDefault(x)) continue;
      const n = t.codec.size(x);
      s += uvarintSize(t.tag) + uvarintSize(n) + n;
      count++;
    }
    const unk = unknownToWrite(v);
    if (unk !== null) {
      for (const u of unk) s += uvarintSize(u.tag) + uvarintSize(u.data.length) + u.data.length;
      count += unk.length;
    }
    return uvarintSize(count) + s;
  };

  const writeUnknown = (w: Writer, u: TaggedField): void => {
    w.uvarint(u.tag);
    w.uvarint(u.data.length);
    w.bytes(u.data);
  };

  const writeTagged = (w: Writer, v: any): void => {
    const unk = unknownToWrite(v);
    if (tagged.length === 0 && unk === null) return w.uvarint(0);
    let count = unk === null ? 0 : unk.length;
    for (const t of tagged) {
      const x = v[t.name];
      if (x !== undefined && !t.isDefault(x)) count++;
    }
    w.uvarint(count);
    let ui = 0;
    for (const t of tagged) {
      const x = v[t.name];
      if (x === undefined || t.isDefault(x)) continue;
      while (unk !== null && ui < unk.length && unk[ui]!.tag < t.tag) writeUnknown(w, unk[ui++]!);
      w.uvarint(t.tag);
      w.uvarint(t.codec.size(x));
      t.codec.write(w, x);
    }
    while (unk !== null && ui < unk.length) writeUnknown(w, unk[ui++]!);
  };

  const readTagged = (r: Reader, o: any): void => {
    const count = r.uvarint();
    for (let i = 0; i < count; i++) {
      const tag = r.uvarint();
      const size = r.uvarint();
      r.need(size);
      const start = r.pos;
      const t = taggedByTag.get(tag);
      if (t === undefined) {
        const entry: TaggedField = { tag, data: r.bytes(size) };
        if (o._unknownTaggedFields === undefined) o._unknownTaggedFields = [entry];
        else o._unknownTaggedFields.push(entry);
        continue;
      }
      // Decode inside the declared size, then skip to its end whatever the field consumed.
      const end = r.end;
      r.end = start + size;
      try {
        o[t.name] = t.codec.read(r);
      } finally {
        r.end = end;
      }
      r.pos = start + size;
    }
  };

  const nRegular = regularCodecs.length;
  const nVariable = variableCodecs.length;
  const nRead = readPlans.length;

  return {
    fixedSize: !flexible && nVariable === 0 ? fixedTotal : -1,
    minSize,
    size(v) {
      checkStruct(v);
      let s = fixedTotal;
      for (let i = 0; i < nVariable; i++) {
        let x = v[variableNames[i]!];
        if (x === undefined) x = variableDefaults[i];
        s += variableCodecs[i]!.size(x);
      }
      if (flexible) s += taggedSize(v);
      return s;
    },
    write(w, v) {
      for (let i = 0; i < nRegular; i++) {
        let x = v[regularNames[i]!];
        if (x === undefined) x = regularDefaults[i];
        regularCodecs[i]!.write(w, x);
      }
      if (flexible) writeTagged(w, v);
    },
    read(r) {
      const o: any = {};
      for (let i = 0; i < nRead; i++) {
        const p = readPlans[i]!;
        o[p.name] = p.codec !== null ? p.codec.read(r) : p.d.fresh === null ? p.d.shared : p.d.fresh();
      }
      if (flexible) readTagged(r, o);
      return o;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Messages

const messageCache = new WeakMap<MessageSchema<any>, Map<number, Codec>>();

/** The compiled codec for one message version; compiled on first use and cached. */
export function compiledMessage(schema: MessageSchema<any>, version: number): Codec {
  let byVersion = messageCache.get(schema);
  if (byVersion === undefined) {
    byVersion = new Map();
    messageCache.set(schema, byVersion);
  }
  let c = byVersion.get(version);
  if (c === undefined) {
    const { min, max } = schema.validVersions;
    if (!Number.isInteger(version) || version < min || version > max) {
      throw new WeirError('unsupported', `${schema.name} version ${version} is not supported (valid ${min}-${max})`);
    }
    c = structCodec(schema.fields, version, inVersions(schema.flexibleVersions, version), schema.name);
    byVersion.set(version, c);
  }
  return c;
}
