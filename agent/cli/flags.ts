/**
 * A small, strict flag parser shared by every `weir` subcommand. Each flag is declared with its
 * type and default; values come from, in order of precedence: `--flag value` / `--flag=value`,
 * the WEIR_FLAG environment variable (flag name upper-cased, dashes to underscores), a config
 * file's `flag: value` entry (see config-file.ts), then the default. Anything unknown or
 * malformed throws a UsageError whose message is one line naming the flag and the bad value.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type FlagType = 'string' | 'int' | 'bytes' | 'bool' | 'list';

export interface FlagDef {
  type: FlagType;
  default?: string | number | boolean | string[];
  description: string;
  /** Inclusive bounds for int/bytes flags. */
  min?: number;
  max?: number;
  /** Allowed values for string flags. */
  oneOf?: readonly string[];
  /** Read from WEIR_<NAME> when not given on the command line (default true). */
  env?: boolean;
}

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

const byteUnits: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

function parseValue(name: string, def: FlagDef, raw: string): string | number | boolean | string[] {
  const bad = (why: string): never => {
    throw new UsageError(`invalid value ${JSON.stringify(raw)} for --${name}: ${why}`);
  };
  const bounded = (n: number): number => {
    if (def.min !== undefined && n < def.min) bad(`must be at least ${def.min}`);
    if (def.max !== undefined && n > def.max) bad(`must be at most ${def.max}`);
    return n;
  };
  switch (def.type) {
    case 'int': {
      if (!/^-?\d+$/.test(raw)) bad('expected an integer');
      return bounded(Number(raw));
    }
    case 'bytes': {
      const m = /^(\d+)\s*([a-z]*)$/i.exec(raw.trim());
      const unit = m ? byteUnits[m[2]!.toLowerCase()] : undefined;
      if (!m || unit === undefined) bad('expected a byte size such as 8388608, 8MiB or 512KiB');
      return bounded(Number(m![1]) * unit!);
    }
    case 'bool':
      if (['true', '1', 'yes'].includes(raw)) return true;
      if (['false', '0', 'no'].includes(raw)) return false;
      return bad('expected true or false');
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    case 'string':
      if (def.oneOf && !def.oneOf.includes(raw)) bad(`expected one of ${def.oneOf.join(', ')}`);
      return raw;
  }
}

export interface ParsedArgs {
  flags: FlagValues;
  positionals: string[];
}

/**
 * Parses argv against the declared flags. Repeated `list` flags accumulate
 * (`--config a=1 --config b=2`).
 */
export function parseFlags(
  argv: readonly string[],
  defs: Readonly<Record<string, FlagDef>>,
  env: NodeJS.ProcessEnv = process.env,
  file?: { path: string; values: Readonly<Record<string, unknown>> },
): ParsedArgs {
  if (file) {
    for (const key of Object.keys(file.values)) {
      if (!defs[key]) throw new UsageError(`unknown setting ${JSON.stringify(key)} in ${file.path}`);
    }
  }
  const flags: FlagValues = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-') && arg.length > 1) throw new UsageError(`unknown flag ${arg}`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const def = defs[name];
    if (!def) throw new UsageError(`unknown flag --${name}`);
    let raw: string;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else if (def.type === 'bool' && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('-') || !/^(true|false|1|0|yes|no)$/.test(argv[i + 1]!))) raw = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`missing value for --${name}`);
      raw = next;
      i++;
    }
    const value = parseValue(name, def, raw);
    const prev = flags[name];
    flags[name] = def.type === 'list' && Array.isArray(prev) ? [...prev, ...(value as string[])] : value;
  }
  for (const [name, def] of Object.entries(defs)) {
    if (flags[name] !== undefined) continue;
    const envName = `WEIR_${name.toUpperCase().replace(/-/g, '_')}`;
    const fromEnv = def.env === false ? undefined : env[envName];
    if (fromEnv !== undefined && fromEnv !== '') {
      try {
        flags[name] = parseValue(name, def, fromEnv);
      } catch (e) {
        throw new UsageError(`${(e as Error).message} (from ${envName})`);
      }
    } else if (file && file.values[name] !== undefined && file.values[name] !== null) {
      const v = file.values[name];
      const raw = Array.isArray(v) ? v.map(String).join(',') : String(v);
      try {
        flags[name] = parseValue(name, def, raw);
      } catch (e) {
        throw new UsageError(`${(e as Error).message} (from ${file.path})`);
      }
    } else if (def.default !== undefined) flags[name] = def.default;
  }
  return { flags, positionals };
}

/** Help text listing the flags, for `--help`. */
export function flagsHelp(defs: Readonly<Record<string, FlagDef>>): string {
  return Object.entries(defs)
    .map(([name, d]) => `  --${name.padEnd(24)} ${d.description}${d.default !== undefined && d.default !== '' ? ` (default ${String(d.default)})` : ''}`)
    .join('\n');
}
