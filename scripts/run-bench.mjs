// Runs one compiled benchmark: `npm run bench -- <name> [args...]` runs dist/bench/<name>.js with
// the remaining args. With no name, or one that does not exist, it lists the benchmarks (exit 0
// for no name, 2 for an unknown one). Benchmarks live in bench/<name>.ts; bench/lib holds the
// shared helpers and is not a benchmark.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const benchDist = join(root, 'dist', 'bench');
const benchSrc = join(root, 'bench');

/** Benchmarks are the .ts files directly in bench/ (the source tells what exists, not stale dist files). */
function available() {
  if (!existsSync(benchSrc)) return [];
  return readdirSync(benchSrc, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => e.name.slice(0, -3))
    .sort();
}

/** The first sentence of the file's leading doc comment, as a one-line description. */
function describe(name) {
  try {
    const text = readFileSync(join(benchSrc, `${name}.ts`), 'utf8');
    const m = /^\s*\/\*\*([\s\S]*?)\*\//.exec(text);
    if (!m) return '';
    const flat = m[1].replace(/^\s*\* ?/gm, '').replace(/\s+/g, ' ').trim();
    const end = flat.search(/[.:](\s|$)/);
    return end === -1 ? flat : flat.slice(0, end);
  } catch {
    return '';
  }
}

function list(stream) {
  const names = available();
  stream.write('usage: npm run bench -- <name> [args...]\n\nbenchmarks:\n');
  for (const n of names) stream.write(`  ${n.padEnd(12)} ${describe(n)}\n`);
  stream.write('\nMost take --help for their own flags. Results and how to read them: docs/benchmarks.md\n');
}

const [name, ...args] = process.argv.slice(2);
if (name === undefined || name === '--help' || name === '-h') {
  list(process.stdout);
  process.exit(0);
}
const names = available();
const script = join(benchDist, `${name}.js`);
if (!names.includes(name)) {
  process.stderr.write(`run-bench: unknown benchmark ${JSON.stringify(name)}\n\n`);
  list(process.stderr);
  process.exit(2);
}
if (!existsSync(script)) {
  process.stderr.write(`run-bench: ${relative(root, script)} does not exist; build first (npm run build)\n`);
  process.exit(1);
}

const child = spawn(process.execPath, [script, ...args], { cwd: root, stdio: 'inherit' });
// Forward Ctrl-C / termination so the benchmark stops its agent and removes its temp dirs.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  if (signal) {
    process.stderr.write(`run-bench: ${name} ended by ${signal}\n`);
    process.exit(1);
  }
  process.exit(code ?? 1);
});
