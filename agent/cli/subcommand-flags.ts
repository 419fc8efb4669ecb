/**
 * The shared front half of `weir topics|groups <sub> ...`: usage and --help, the subcommand
 * check, and flag parsing against every subcommand's flags, so that a flag of another
 * subcommand gets a precise one-line error instead of "unknown flag".
 */
import { parseFlags, UsageError, type FlagDef, type FlagValues } from './flags.js';

export interface SubcommandSpec {
  /** 'topics' or 'groups', for messages. */
  command: string;
  usage: string;
  commonFlags: Readonly<Record<string, FlagDef>>;
  commandFlags: Readonly<Record<string, Readonly<Record<string, FlagDef>>>>;
}

export type ParsedSubcommand =
  | { help: number }
  | { help?: undefined; sub: string; flags: FlagValues; positionals: string[]; bootstrapFromEnv: boolean };

export function parseSubcommand(argv: readonly string[], spec: SubcommandSpec): ParsedSubcommand {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(`${spec.usage}\n`);
    return { help: sub === undefined ? 2 : 0 };
  }
  const own = spec.commandFlags[sub];
  const subs = Object.keys(spec.commandFlags);
  if (!own) {
    const expected = `${subs.slice(0, -1).join(', ')} or ${subs[subs.length - 1]}`;
    throw new UsageError(`unknown ${spec.command} command ${JSON.stringify(sub)} (expected ${expected})`);
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${spec.usage}\n`);
    return { help: 0 };
  }
  const all = { ...spec.commonFlags, ...Object.assign({}, ...Object.values(spec.commandFlags)) } as Record<string, FlagDef>;
  const { flags, positionals } = parseFlags(rest, all);
  for (const name of Object.keys(all)) {
    if (flags[name] !== undefined && !(name in spec.commonFlags) && !(name in own)) throw new UsageError(`--${name} does not apply to ${spec.command} ${sub}`);
  }
  // The bootstrap address came from WEIR_BOOTSTRAP_SERVER, not a flag: error messages say so.
  const givenAsFlag = rest.some((a) => a === '--bootstrap-server' || a.startsWith('--bootstrap-server='));
  return { sub, flags, positionals, bootstrapFromEnv: !givenAsFlag && !!process.env.WEIR_BOOTSTRAP_SERVER };
}
