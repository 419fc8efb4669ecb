/**
 * Generates core/protocol/generated/ from Apache Kafka's JSON message specs and Weir's own specs
 * (weir-specs/: Weir-only APIs such as WeirMirrorWrite, in the same format, api keys >= 10000).
 *
 *   npm run gen:protocol                           # writes core/protocol/generated/
 *   tsx scripts/gen-protocol.ts --out <dir>        # writes elsewhere (scripts/check-generated.mjs)
 *   tsx scripts/gen-protocol.ts --specs <dir>      # reads Kafka's specs from elsewhere
 *   tsx scripts/gen-protocol.ts --weir-specs <dir> # reads Weir's own specs from elsewhere
 *
 * Each generated file's header names the specs it came from, so a reader can tell a Kafka API
 * from a Weir one.
 *
 * One file per API (request + response), one per header/data type, plus index.ts. The output
 * carries structure only (no "about" prose) and is a pure function of the specs: files, fields
 * and structs are emitted in a fixed order with no timestamps, because CI regenerates and fails
 * on any diff.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface SpecField {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  tag?: number;
  taggedVersions?: string;
  flexibleVersions?: string;
  default?: string | number | boolean;
  fields?: SpecField[];
}

interface SpecStruct {
  name: string;
  versions: string;
  fields: SpecField[];
}

interface Spec {
  apiKey?: number;
  type: 'request' | 'response' | 'header' | 'data';
  name: string;
  validVersions: string;
  flexibleVersions: string;
  deprecatedVersions?: string;
  latestVersionUnstable?: boolean;
  listeners?: string[];
  fields: SpecField[];
  commonStructs?: SpecStruct[];
}

interface LoadedSpec {
  file: string;
  spec: Spec;
  /** Whose spec: Kafka's or Weir's own; decides the generated header and the allowed api keys. */
  origin: SpecOrigin;
}

interface SpecOrigin {
  /** "Apache Kafka's message specs" or "Weir's own message specs". */
  title: string;
  /** The specs folder relative to the repository root, as written in headers. */
  rel: string;
}

/**
 * Weir's own APIs take keys from here up. Kafka's keys are allocated densely from 0 (below 100 as of
 * 4.x), so the two ranges cannot meet; the generator refuses a spec in the wrong range.
 */
const WEIR_API_KEY_MIN = 10000;

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
const INT_RANGES: Record<string, [number, number]> = {
  int8: [-0x80, 0x7f],
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
};
const MAX_LINE = 120;

// ---------------------------------------------------------------------------------------------
// Command line and I/O

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv: string[]): { out: string; specs: string; weirSpecs: string } {
  let out = path.join(repoRoot, 'core/protocol/generated');
  let specs = path.resolve(repoRoot, '../shared/kafka-message-specs');
  let weirSpecs = path.join(repoRoot, 'weir-specs');
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return path.resolve(v);
    };
    if (arg === '--out') out = next();
    else if (arg === '--specs') specs = next();
    else if (arg === '--weir-specs') weirSpecs = next();
    else throw new Error(`unknown argument ${arg}; usage: gen-protocol [--out <dir>] [--specs <dir>] [--weir-specs <dir>]`);
  }
  return { out, specs, weirSpecs };
}

/** The specs are JSON plus // comments; strip comments outside strings, then JSON.parse. */
function parseJsonWithComments(text: string, file: string): unknown {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  try {
    return JSON.parse(out);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

function loadSpecs(dir: string, origin: SpecOrigin, flag: string): LoadedSpec[] {
  if (!existsSync(dir)) throw new Error(`specs directory ${dir} not found; pass ${flag} <dir>`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, spec: parseJsonWithComments(readFileSync(path.join(dir, file), 'utf8'), file) as Spec, origin }));
}

function relativeToRepo(dir: string): string {
  return path.relative(repoRoot, dir).split(path.sep).join('/');
}

// ---------------------------------------------------------------------------------------------
// Naming

function kebab(name: string): string {
  return name
    .replace(/KRaft/g, 'Kraft')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

function camel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/**
 * Struct interfaces are named <MessageName><StructName> (ProduceRequest + TopicProduceData), so
 * names never collide across messages. A struct name that already starts with the message name
 * is used as is (MetadataRequestTopic), and a leading API name is not repeated
 * (DescribeClusterResponse + DescribeClusterBroker -> DescribeClusterResponseBroker).
 */
function structInterfaceName(messageName: string, apiName: string, structName: string): string {
  if (structName.startsWith(messageName)) return structName;
  if (structName.startsWith(apiName) && /^[A-Z]/.test(structName.slice(apiName.length))) {
    return messageName + structName.slice(apiName.length);
  }
  return messageName + structName;
}

// ---------------------------------------------------------------------------------------------
// Values

interface Range {
  min: number;
  max?: number;
}

function parseVersions(s: string, where: string): Range | null {
  const v = s.trim();
  if (v === 'none') return null;
  let m = /^(\d+)\+$/.exec(v);
  if (m) return { min: Number(m[1]) };
  m = /^(\d+)-(\d+)$/.exec(v);
  if (m) return { min: Number(m[1]), max: Number(m[2]) };
  m = /^(\d+)$/.exec(v);
  if (m) return { min: Number(m[1]), max: Number(m[1]) };
  throw new Error(`${where}: bad version range ${JSON.stringify(s)}`);
}

function rangeLiteral(r: Range | null): string {
  if (r === null) return 'null';
  return r.max === undefined ? `{ min: ${r.min} }` : `{ min: ${r.min}, max: ${r.max} }`;
}

function covers(outer: Range | null, inner: Range | null): boolean {
  if (inner === null) return true;
  if (outer === null) return false;
  if (inner.min < outer.min) return false;
  if (outer.max === undefined) return true;
  return inner.max !== undefined && inner.max <= outer.max;
}

function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/** Integer literal per the spec rules: decimal, 0x hex, or 0-prefixed octal, optionally signed. */
function parseIntegerText(text: string, where: string): bigint {
  const m = /^(-?)(0x[0-9a-fA-F]+|0[0-7]+|\d+)$/.exec(text.trim());
  if (!m) throw new Error(`${where}: bad integer default ${JSON.stringify(text)}`);
  const body = m[2]!;
  const magnitude = /^0[0-7]+$/.test(body) ? BigInt(`0o${body.slice(1)}`) : BigInt(body);
  return m[1] === '-' ? -magnitude : magnitude;
}

/** The TypeScript literal for a field's spec default, or undefined when it has none. */
function defaultLiteral(f: SpecField, where: string): string | undefined {
  if (f.default === undefined) return undefined;
  const raw = f.default;
  const text = String(raw);
  if (text === 'null') {
    if (f.type === 'bool' || f.type in INT_RANGES || f.type === 'int64' || f.type === 'float64' || f.type === 'uuid') {
      throw new Error(`${where}: ${f.type} cannot default to null`);
    }
    const versions = parseVersions(f.versions, where);
    if (!covers(parseVersions(f.nullableVersions ?? 'none', where), versions)) {
      throw new Error(`${where}: default null but not nullable in all versions`);
    }
    return 'null';
  }
  switch (f.type) {
    case 'bool':
      if (text !== 'true' && text !== 'false') throw new Error(`${where}: bad bool default ${text}`);
      return text;
    case 'int64':
      return `${parseIntegerText(text, where)}n`;
    case 'float64': {
      const n = Number(text);
      if (!Number.isFinite(n)) throw new Error(`${where}: bad float64 default ${text}`);
      return String(n);
    }
    case 'string':
      return quote(text);
    default: {
      const range = INT_RANGES[f.type];
      if (range === undefined) throw new Error(`${where}: ${f.type} cannot have a default`);
      const n = Number(parseIntegerText(text, where));
      if (n < range[0] || n > range[1]) throw new Error(`${where}: default ${text} out of range for ${f.type}`);
      return String(n);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// One message: its structs, interfaces and schema literal

interface StructInfo {
  specName: string;
  interfaceName: string;
  fields: SpecField[];
  /** Set for commonStructs: the name of the shared FieldSchema[] constant. */
  constName?: string;
}

class MessageEmitter {
  readonly structs = new Map<string, StructInfo>();
  readonly flexible: boolean;
  private readonly common = new Map<string, SpecStruct>();

  constructor(
    readonly loaded: LoadedSpec,
    readonly apiName: string,
  ) {
    const spec = loaded.spec;
    for (const cs of spec.commonStructs ?? []) this.common.set(cs.name, cs);
    this.flexible = parseVersions(spec.flexibleVersions, loaded.file) !== null;
    this.collect(spec.fields, spec.name);
  }

  get name(): string {
    return this.loaded.spec.name;
  }

  /** Registers every struct reachable from `fields`, depth first, in spec order. */
  private collect(fields: SpecField[], where: string): void {
    for (const f of fields) {
      const fwhere = `${this.loaded.file} ${where}.${f.name}`;
      if (PRIMITIVES.has(elementOf(f.type))) {
        if (f.fields !== undefined) throw new Error(`${fwhere}: primitive ${f.type} with fields`);
        continue;
      }
      const structName = elementOf(f.type);
      const existing = this.structs.get(structName);
      if (f.fields !== undefined) {
        if (existing !== undefined) throw new Error(`${fwhere}: struct ${structName} defined twice`);
        const info = { specName: structName, interfaceName: this.interfaceName(structName), fields: f.fields };
        this.structs.set(structName, info);
        this.collect(f.fields, `${where}.${f.name}`);
      } else if (existing === undefined) {
        const cs = this.common.get(structName);
        if (cs === undefined) throw new Error(`${fwhere}: unknown struct type ${structName}`);
        const interfaceName = this.interfaceName(structName);
        this.structs.set(structName, { specName: structName, interfaceName, fields: cs.fields, constName: `${interfaceName}Fields` });
        this.collect(cs.fields, structName);
      } else if (existing.constName === undefined) {
        throw new Error(`${fwhere}: struct ${structName} is inline elsewhere; reference a commonStruct instead`);
      }
    }
  }

  private interfaceName(structName: string): string {
    return structInterfaceName(this.name, this.apiName, structName);
  }

  allInterfaceNames(): string[] {
    return [this.name, ...[...this.structs.values()].map((s) => s.interfaceName)];
  }

  /** TypeScript type of a field's value. */
  private tsType(f: SpecField): string {
    const elem = elementOf(f.type);
    let base: string;
    switch (elem) {
      case 'bool':
        base = 'boolean';
        break;
      case 'int64':
        base = 'bigint';
        break;
      case 'string':
      case 'uuid':
        base = 'string';
        break;
      case 'bytes':
        base = 'Buffer';
        break;
      case 'records':
        // Response interfaces are what handlers build for the encoder, which also takes pieces.
        base = this.optionalFields ? 'RecordsInput' : 'Buffer';
        break;
      default:
        base = PRIMITIVES.has(elem) ? 'number' : this.structs.get(elem)!.interfaceName;
    }
    if (f.type.startsWith('[]')) base = `${base}[]`;
    const nullable = (f.nullableVersions !== undefined && f.nullableVersions !== 'none') || f.type === 'records';
    return nullable ? `${base} | null` : base;
  }

  /** Whether the interfaces mention RecordsInput, which the file must then import. */
  usesRecordsInput(): boolean {
    if (!this.optionalFields) return false;
    const hasRecords = (fields: SpecField[]): boolean => fields.some((f) => elementOf(f.type) === 'records');
    return hasRecords(this.loaded.spec.fields) || [...this.structs.values()].some((s) => hasRecords(s.fields));
  }

  private fieldComment(f: SpecField): string {
    const parts = [`v${f.versions}`];
    if (f.nullableVersions !== undefined && f.nullableVersions !== 'none') parts.push(`nullable v${f.nullableVersions}`);
    if (f.tag !== undefined) parts.push(`tag ${f.tag} in v${f.taggedVersions}`);
    return parts.join(', ');
  }

  /**
   * Responses are built by Weir's handlers, which may omit any field (it is then encoded as its
   * default), so their fields are optional; decoded values, requests included, have every field.
   */
  private get optionalFields(): boolean {
    return this.loaded.spec.type === 'response';
  }

  private emitInterface(name: string, fields: SpecField[]): string[] {
    const lines = [`export interface ${name} {`];
    const q = this.optionalFields ? '?' : '';
    for (const f of fields) lines.push(`  ${camel(f.name)}${q}: ${this.tsType(f)}; // ${this.fieldComment(f)}`);
    if (this.flexible) lines.push('  _unknownTaggedFields?: TaggedField[];');
    lines.push('}');
    return lines;
  }

  /** The message interface followed by its struct interfaces, in discovery order. */
  emitInterfaces(): string[] {
    const out: string[] = [];
    if (this.optionalFields) {
      out.push('/** Omitted fields are encoded as their defaults; decoded responses have every field. */');
    }
    out.push(...this.emitInterface(this.name, this.loaded.spec.fields));
    for (const s of this.structs.values()) out.push('', ...this.emitInterface(s.interfaceName, s.fields));
    return out;
  }

  /** `const XFields: readonly FieldSchema[] = [...]` for commonStructs, dependencies first. */
  emitCommonStructConsts(): string[] {
    const out: string[] = [];
    const done = new Set<string>();
    const visit = (s: StructInfo): void => {
      if (done.has(s.specName)) return;
      done.add(s.specName);
      for (const dep of this.structDeps(s.fields)) visit(dep);
      if (s.constName === undefined) return;
      out.push('', `const ${s.constName}: readonly FieldSchema[] = [`, ...this.emitFieldList(s.fields, '  '), '];');
    };
    for (const s of this.structs.values()) visit(s);
    return out;
  }

  private structDeps(fields: SpecField[]): StructInfo[] {
    const deps: StructInfo[] = [];
    for (const f of fields) {
      const s = this.structs.get(elementOf(f.type));
      if (s === undefined) continue;
      if (s.constName !== undefined) deps.push(s);
      else deps.push(...this.structDeps(s.fields));
    }
    return deps;
  }

  emitFieldList(fields: SpecField[], indent: string): string[] {
    const out: string[] = [];
    for (const f of fields) out.push(...this.emitField(f, indent));
    return out;
  }

  private emitField(f: SpecField, indent: string): string[] {
    const where = `${this.loaded.file} ${f.name}`;
    const props: string[] = [`name: ${quote(camel(f.name))}`, `type: ${quote(f.type)}`];
    const versions = parseVersions(f.versions, where);
    if (versions === null) throw new Error(`${where}: field with versions "none"`);
    props.push(`versions: ${rangeLiteral(versions)}`);
    const nullable = f.nullableVersions === undefined ? null : parseVersions(f.nullableVersions, where);
    if (nullable !== null) props.push(`nullableVersions: ${rangeLiteral(nullable)}`);
    if (f.tag !== undefined) {
      const tagged = parseVersions(f.taggedVersions ?? 'none', where);
      if (tagged === null) throw new Error(`${where}: tag without taggedVersions`);
      props.push(`tag: ${f.tag}`, `taggedVersions: ${rangeLiteral(tagged)}`);
    }
    if (f.flexibleVersions !== undefined) {
      props.push(`flexibleVersions: ${rangeLiteral(parseVersions(f.flexibleVersions, where))}`);
    }
    const dflt = defaultLiteral(f, where);
    if (dflt !== undefined) props.push(`default: ${dflt}`);
    const struct = this.structs.get(elementOf(f.type));
    if (struct?.constName !== undefined) props.push(`fields: ${struct.constName}`);
    if (struct === undefined || struct.constName !== undefined) {
      const line = `${indent}{ ${props.join(', ')} },`;
      if (line.length <= MAX_LINE) return [line];
      return [`${indent}{`, ...props.map((p) => `${indent}  ${p},`), `${indent}},`];
    }
    return [
      `${indent}{`,
      ...props.map((p) => `${indent}  ${p},`),
      `${indent}  fields: [`,
      ...this.emitFieldList(struct.fields, `${indent}    `),
      `${indent}  ],`,
      `${indent}},`,
    ];
  }

  /** The MessageSchema object literal's body lines (without the surrounding braces). */
  emitSchemaBody(indent: string): string[] {
    const spec = this.loaded.spec;
    return [
      `${indent}name: ${quote(spec.name)},`,
      `${indent}validVersions: ${rangeLiteral(parseVersions(spec.validVersions, spec.name))},`,
      `${indent}flexibleVersions: ${rangeLiteral(parseVersions(spec.flexibleVersions, spec.name))},`,
      `${indent}fields: [`,
      ...this.emitFieldList(spec.fields, `${indent}  `),
      `${indent}],`,
    ];
  }
}

function elementOf(type: string): string {
  return type.startsWith('[]') ? type.slice(2) : type;
}

// ---------------------------------------------------------------------------------------------
// Files

interface OutputFile {
  name: string;
  text: string;
}

function header(specFiles: string[], origin: SpecOrigin): string {
  const [first, ...rest] = specFiles;
  const list = [`${origin.rel}/${first}`, ...rest].join(', ');
  return `// Generated by scripts/gen-protocol.ts from ${origin.title} (${list}). Do not edit.`;
}

function typeImports(names: string[]): string {
  return `import type { ${names.sort().join(', ')} } from '../types.js';`;
}

function boundedVersions(s: string, where: string): Range & { max: number } {
  const r = parseVersions(s, where);
  if (r === null || r.max === undefined) throw new Error(`${where}: validVersions must be a closed range`);
  return r as Range & { max: number };
}

interface ApiFile extends OutputFile {
  apiKey: number;
  constName: string;
}

function emitApiFile(req: LoadedSpec, res: LoadedSpec): ApiFile {
  const apiName = req.spec.name.replace(/Request$/, '');
  if (res.spec.name !== `${apiName}Response`) throw new Error(`${res.file}: expected ${apiName}Response`);
  if (req.spec.validVersions !== res.spec.validVersions || req.spec.flexibleVersions !== res.spec.flexibleVersions) {
    throw new Error(`${apiName}: request and response disagree on valid or flexible versions`);
  }
  const reqE = new MessageEmitter(req, apiName);
  const resE = new MessageEmitter(res, apiName);
  const spec = req.spec;
  const valid = boundedVersions(spec.validVersions, req.file);
  const lines = [header([req.file, res.file], req.origin), ''];
  const imports = ['ApiSpec'];
  if (reqE.flexible || resE.flexible) imports.push('TaggedField');
  if (resE.usesRecordsInput()) imports.push('RecordsInput');
  const commonConsts = [...reqE.emitCommonStructConsts(), ...resE.emitCommonStructConsts()];
  if (commonConsts.length > 0) imports.push('FieldSchema');
  lines.push(typeImports(imports), '', ...reqE.emitInterfaces(), '', ...resE.emitInterfaces(), ...commonConsts, '');
  const declaration = `export const ${apiName}: ApiSpec<${req.spec.name}, ${res.spec.name}> = {`;
  if (declaration.length <= MAX_LINE) lines.push(declaration);
  else lines.push(`export const ${apiName}: ApiSpec<`, `  ${req.spec.name},`, `  ${res.spec.name}`, '> = {');
  lines.push(`  apiKey: ${spec.apiKey},`, `  name: ${quote(apiName)},`, `  validVersions: ${rangeLiteral(valid)},`);
  if (spec.deprecatedVersions !== undefined) {
    lines.push(`  deprecatedVersions: ${rangeLiteral(parseVersions(spec.deprecatedVersions, req.file))},`);
  }
  lines.push(`  flexibleVersions: ${rangeLiteral(parseVersions(spec.flexibleVersions, req.file))},`);
  if (spec.latestVersionUnstable === true) lines.push('  latestVersionUnstable: true,');
  if (spec.listeners !== undefined) lines.push(`  listeners: [${spec.listeners.map(quote).join(', ')}],`);
  lines.push('  request: {', ...reqE.emitSchemaBody('    '), '  },');
  lines.push('  response: {', ...resE.emitSchemaBody('    '), '  },');
  lines.push('};', '');
  checkUniqueNames([...reqE.allInterfaceNames(), ...resE.allInterfaceNames(), apiName], req.file);
  return { name: `${kebab(apiName)}.ts`, text: lines.join('\n'), apiKey: spec.apiKey!, constName: apiName };
}

function emitStandaloneFile(loaded: LoadedSpec): OutputFile & { constName: string } {
  const spec = loaded.spec;
  const e = new MessageEmitter(loaded, spec.name);
  boundedVersions(spec.validVersions, loaded.file);
  const constName = `${spec.name}Schema`;
  const imports = ['MessageSchema'];
  if (e.flexible) imports.push('TaggedField');
  if (e.usesRecordsInput()) imports.push('RecordsInput');
  const commonConsts = e.emitCommonStructConsts();
  if (commonConsts.length > 0) imports.push('FieldSchema');
  const lines = [header([loaded.file], loaded.origin), '', typeImports(imports), '', ...e.emitInterfaces(), ...commonConsts];
  lines.push('', `export const ${constName}: MessageSchema<${spec.name}> = {`, ...e.emitSchemaBody('  '), '};', '');
  checkUniqueNames([...e.allInterfaceNames(), constName], loaded.file);
  return { name: `${kebab(spec.name)}.ts`, text: lines.join('\n'), constName };
}

const allExportedNames = new Map<string, string>();

function checkUniqueNames(names: string[], file: string): void {
  for (const n of names) {
    const prior = allExportedNames.get(n);
    if (prior !== undefined) throw new Error(`name ${n} from ${file} collides with one from ${prior}`);
    allExportedNames.set(n, file);
  }
}

function emitIndex(apis: ApiFile[], standalone: (OutputFile & { constName: string })[], origins: SpecOrigin[]): string {
  const modules = [...apis, ...standalone].map((f) => f.name.replace(/\.ts$/, '.js')).sort();
  const sources = origins.map((o) => `${o.title} (${o.rel}/*.json)`).join(' and ');
  const lines = [
    `// Generated by scripts/gen-protocol.ts from ${sources}. Do not edit.`,
    '',
    "import type { ApiSpec, MessageSchema } from '../types.js';",
  ];
  const imports = [
    ...apis.map((a) => ({ name: a.constName, module: a.name })),
    ...standalone.map((s) => ({ name: s.constName, module: s.name })),
  ].sort((a, b) => (a.module < b.module ? -1 : a.module > b.module ? 1 : 0));
  for (const i of imports) lines.push(`import { ${i.name} } from './${i.module.replace(/\.ts$/, '.js')}';`);
  lines.push('');
  for (const m of modules) lines.push(`export * from './${m}';`);
  lines.push('', '/** Every API, by ascending api key. */', 'export const allApis: readonly ApiSpec[] = [');
  for (const a of apis) lines.push(`  ${a.constName},`);
  lines.push('];', '');
  lines.push(
    'export const apisByKey: ReadonlyMap<number, ApiSpec> = new Map(allApis.map((api) => [api.apiKey, api]));',
    '',
  );
  lines.push('export const ApiKey = {');
  for (const a of apis) lines.push(`  ${a.constName}: ${a.apiKey},`);
  lines.push('} as const;', 'export type ApiKey = (typeof ApiKey)[keyof typeof ApiKey];', '');
  lines.push('/** Headers and data types (embedded payloads, records), by name. */');
  lines.push('export const dataSchemas: readonly MessageSchema[] = [');
  for (const s of [...standalone].sort((a, b) => (a.constName < b.constName ? -1 : 1))) lines.push(`  ${s.constName},`);
  lines.push('];', '');
  return lines.join('\n');
}

function generate(specsDir: string, weirSpecsDir: string): OutputFile[] {
  const kafka: SpecOrigin = { title: "Apache Kafka's message specs", rel: relativeToRepo(specsDir) };
  const weir: SpecOrigin = { title: "Weir's own message specs", rel: relativeToRepo(weirSpecsDir) };
  const loaded = [...loadSpecs(specsDir, kafka, '--specs'), ...loadSpecs(weirSpecsDir, weir, '--weir-specs')];
  const byKey = new Map<number, { request?: LoadedSpec; response?: LoadedSpec }>();
  const standaloneSpecs: LoadedSpec[] = [];
  for (const l of loaded) {
    const t = l.spec.type;
    if (t === 'request' || t === 'response') {
      if (typeof l.spec.apiKey !== 'number') throw new Error(`${l.file}: ${t} without apiKey`);
      const weirKey = l.spec.apiKey >= WEIR_API_KEY_MIN;
      if (weirKey !== (l.origin === weir)) {
        throw new Error(`${l.origin.rel}/${l.file}: api key ${l.spec.apiKey} is in the wrong range (Weir's own APIs use ${WEIR_API_KEY_MIN} and up, Kafka's less)`);
      }
      if (l.spec.apiKey > 0x7fff) throw new Error(`${l.file}: api key ${l.spec.apiKey} does not fit an int16`);
      const pair = byKey.get(l.spec.apiKey) ?? {};
      if (pair[t] !== undefined) throw new Error(`${l.file}: second ${t} for api key ${l.spec.apiKey}`);
      pair[t] = l;
      byKey.set(l.spec.apiKey, pair);
    } else if (t === 'header' || t === 'data') {
      standaloneSpecs.push(l);
    } else {
      throw new Error(`${l.file}: unknown spec type ${String(t)}`);
    }
  }
  const apis: ApiFile[] = [];
  for (const key of [...byKey.keys()].sort((a, b) => a - b)) {
    const { request, response } = byKey.get(key)!;
    if (request === undefined || response === undefined) throw new Error(`api key ${key} lacks a request or response`);
    apis.push(emitApiFile(request, response));
  }
  const standalone = standaloneSpecs.map((l) => emitStandaloneFile(l));
  const files: OutputFile[] = [...apis, ...standalone];
  const names = new Set<string>();
  for (const f of files) {
    if (names.has(f.name)) throw new Error(`two specs map to ${f.name}`);
    names.add(f.name);
  }
  files.push({ name: 'index.ts', text: emitIndex(apis, standalone, [kafka, weir]) });
  return files.sort((a, b) => (a.name < b.name ? -1 : 1));
}

function writeOutput(outDir: string, files: OutputFile[]): void {
  mkdirSync(outDir, { recursive: true });
  const wanted = new Set(files.map((f) => f.name));
  // Remove files for specs that no longer exist, so the directory mirrors the specs exactly.
  for (const existing of readdirSync(outDir)) {
    if (existing.endsWith('.ts') && !wanted.has(existing)) rmSync(path.join(outDir, existing));
  }
  for (const f of files) {
    const target = path.join(outDir, f.name);
    // Unchanged files are left alone so that incremental builds and watchers stay quiet.
    if (existsSync(target) && readFileSync(target, 'utf8') === f.text) continue;
    writeFileSync(target, f.text);
  }
}

function main(): void {
  const started = Date.now();
  const { out, specs, weirSpecs } = parseArgs(process.argv.slice(2));
  const files = generate(specs, weirSpecs);
  writeOutput(out, files);
  console.log(`gen-protocol: ${files.length} files in ${path.relative(process.cwd(), out) || '.'} (${Date.now() - started} ms)`);
}

try {
  main();
} catch (e) {
  console.error(`gen-protocol: ${(e as Error).message}`);
  process.exit(1);
}
