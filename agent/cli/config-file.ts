/**
 * `--config <file>`: a YAML file of settings, one `flag-name: value` per line, the same names as
 * the command-line flags (without the dashes), e.g.
 *
 *   port: 9092
 *   object-store: s3
 *   bucket: weir-log
 *
 * Flags and WEIR_* environment variables override it. A missing or malformed file, or a setting
 * that is not a flag, is a one-line usage error naming the file.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { UsageError } from './flags.js';

export interface ConfigFile {
  path: string;
  values: Record<string, unknown>;
}

/** Finds `--config X` / `--config=X` in argv (or WEIR_CONFIG) and loads it; returns the rest of argv. */
export function loadConfigFile(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): { argv: string[]; file?: ConfigFile } {
  const rest: string[] = [];
  let path: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config') {
      path = argv[i + 1];
      if (path === undefined) throw new UsageError('missing value for --config');
      i++;
    } else if (a.startsWith('--config=')) path = a.slice('--config='.length);
    else rest.push(a);
  }
  path ??= env.WEIR_CONFIG || undefined;
  if (path === undefined) return { argv: rest };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let values: unknown;
  try {
    values = parse(text);
  } catch (e) {
    throw new UsageError(`config file ${path} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (values === null || values === undefined) values = {};
  if (typeof values !== 'object' || Array.isArray(values)) throw new UsageError(`config file ${path} must be a mapping of setting: value`);
  return { argv: rest, file: { path, values: values as Record<string, unknown> } };
}
