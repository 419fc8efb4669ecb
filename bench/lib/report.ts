/**
 * What every benchmark prints around its figures: the machine, the date, the command and the
 * machine's load, so a number pasted into docs/benchmarks.md carries its context; and a small
 * flag parser so each benchmark's knobs are `--name value` and unknown flags fail loudly.
 */
import { cpus, loadavg, totalmem } from 'node:os';

export function machineLine(): string {
  return `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown cpu'}), ${Math.round(totalmem() / 1024 ** 3)} GiB, node ${process.version}`;
}

/**
 * The 1-minute load average. The benchmarks share two cores with the client processes they
 * start; anything else running (a test suite, a build) makes the figures meaningless, so it is
 * printed and warned about rather than silently folded into the numbers.
 */
export function warnIfBusy(): void {
  const [one] = loadavg();
  if (one !== undefined && one > 1) {
    console.log(`WARNING: load average is ${one.toFixed(2)} before the benchmark started; other work on this machine will skew the figures.`);
  }
}

export function printHeader(name: string, description: string): void {
  console.log(`== ${name}: ${description}`);
  console.log(`date     ${new Date().toISOString()}`);
  console.log(`machine  ${machineLine()}`);
  console.log(`command  npm run bench -- ${name}${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`);
  console.log(`load     ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1/5/15 min)`);
  warnIfBusy();
}

/** The machine-readable summary, one line, for scripts that collect results. */
export function printResult(result: Record<string, unknown>): void {
  console.log(`RESULT ${JSON.stringify(result)}`);
}

export const MiB = 1024 * 1024;

export function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : String(n);
}

export interface FlagSpec {
  default: number | string;
  description: string;
}

/** Parses `--name value` / `--name=value` against specs; `--help` prints them and exits 0. */
export function parseBenchFlags<T extends Record<string, FlagSpec>>(name: string, specs: T, argv = process.argv.slice(2)): { [K in keyof T]: T[K]['default'] } {
  const values: Record<string, number | string> = {};
  for (const [k, s] of Object.entries(specs)) values[k] = s.default;
  const usage = (): string =>
    `usage: npm run bench -- ${name} [flags]\n${Object.entries(specs)
      .map(([k, s]) => `  --${k.padEnd(20)} ${s.description} (default ${s.default})`)
      .join('\n')}`;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      console.log(usage());
      process.exit(0);
    }
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    const spec = m ? specs[m[1]!] : undefined;
    if (!m || spec === undefined) {
      console.error(`${name}: unknown argument ${JSON.stringify(arg)}\n${usage()}`);
      process.exit(2);
    }
    const raw = m[2] ?? argv[++i];
    if (raw === undefined) {
      console.error(`${name}: missing value for --${m[1]}`);
      process.exit(2);
    }
    if (typeof spec.default === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n)) {
        console.error(`${name}: --${m[1]} expects a number, got ${JSON.stringify(raw)}`);
        process.exit(2);
      }
      values[m[1]!] = n;
    } else values[m[1]!] = raw;
  }
  return values as { [K in keyof T]: T[K]['default'] };
}
