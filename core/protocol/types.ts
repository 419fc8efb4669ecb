/**
 * Shapes of the schema data emitted by scripts/gen-protocol.ts into core/protocol/generated/.
 * The generated files carry only structure (names, types, version ranges, tags, defaults); the
 * codec in compile.ts turns a schema plus a version into specialized encode/decode closures.
 */

/** An inclusive version range. `max` is absent for open-ended ranges ("3+" in the specs). */
export interface Versions {
  readonly min: number;
  readonly max?: number;
}

export type PrimitiveType =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float64'
  | 'string'
  | 'uuid'
  | 'bytes'
  | 'records';

/** A spec "default", already parsed: int64 defaults are bigints, "null" is null. */
export type DefaultValue = number | bigint | boolean | string | null;

export interface FieldSchema {
  /** The value's property name: the spec name with its first letter lower-cased. */
  readonly name: string;
  /** The spec type: a primitive, `[]<element>`, or a struct name (then `fields` is set). */
  readonly type: string;
  readonly versions: Versions;
  readonly nullableVersions?: Versions;
  readonly tag?: number;
  readonly taggedVersions?: Versions;
  /**
   * Field-level override of the message's flexible versions; null means never flexible. Only the
   * request header's ClientId uses it: it stays a classic int16-length string even in header v2.
   */
  readonly flexibleVersions?: Versions | null;
  /** Absent means the type's natural default (0, 0n, false, '', empty, [], zero uuid). */
  readonly default?: DefaultValue;
  /** Fields of the struct, or of the array element struct. */
  readonly fields?: readonly FieldSchema[];
}

/**
 * One message (a request, a response, a header or a data type). `T` is the decoded value type;
 * it exists only for type inference and is never set at runtime.
 */
export interface MessageSchema<T = unknown> {
  readonly name: string;
  readonly validVersions: { readonly min: number; readonly max: number };
  /** null when no version is flexible. */
  readonly flexibleVersions: Versions | null;
  readonly fields: readonly FieldSchema[];
  readonly __value?: T;
}

export interface ApiSpec<Req = unknown, Res = unknown> {
  readonly apiKey: number;
  /** The API name without Request/Response, e.g. 'Produce'. */
  readonly name: string;
  readonly validVersions: { readonly min: number; readonly max: number };
  readonly flexibleVersions: Versions | null;
  readonly deprecatedVersions?: Versions;
  /** Kafka marks the newest version as not yet stable; brokers should not advertise it. */
  readonly latestVersionUnstable?: boolean;
  /** Which Kafka node roles serve this API ('zkBroker', 'broker', 'controller'). */
  readonly listeners?: readonly string[];
  readonly request: MessageSchema<Req>;
  readonly response: MessageSchema<Res>;
}

/** A tagged field the schema does not know, kept verbatim so it survives a decode/encode trip. */
export interface TaggedField {
  tag: number;
  data: Buffer;
}

/**
 * A records field as response interfaces type it, i.e. as handlers give it to the encoder: one
 * Buffer, or pieces meaning their concatenation (a partition's batches read from several stored
 * pieces need no Buffer.concat; the gather encoder references each piece). Decoding always gives
 * a single Buffer (or null), whatever the interface says.
 */
export type RecordsInput = Buffer | readonly Buffer[];

export type RequestOf<A> = A extends ApiSpec<infer Req, unknown> ? Req : never;
export type ResponseOf<A> = A extends ApiSpec<unknown, infer Res> ? Res : never;

/**
 * What the encoder accepts: any field may be omitted (undefined), and is then written as its
 * default. Decoded values always have every field.
 */
export type Encodable<T> = T extends Buffer | bigint | string | number | boolean | null | undefined
  ? T
  : T extends readonly (infer E)[]
    ? Encodable<E>[]
    : { [K in keyof T]?: Encodable<T[K]> };

export function inVersions(range: Versions | null | undefined, version: number): boolean {
  return range != null && version >= range.min && (range.max === undefined || version <= range.max);
}
