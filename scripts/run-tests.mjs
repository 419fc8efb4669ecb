// Runs the compiled test files (dist/test/**/*.test.js) with node's test runner.
// Node 20's `node --test` does not expand globs, so the file list is passed explicitly.
//
//   node scripts/run-tests.mjs            every test file
//   node scripts/run-tests.mjs e2e cli    only files whose path contains "e2e" or "cli"
//
// Exits with the test runner's exit code.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const testRoot = join(root, 'dist', 'test');

// Two cores: more files at once would starve the agents and client processes each e2e file starts.
const CONCURRENCY = 2;
// Per test (an `it`/`test`), not per file; generous because e2e tests start processes and move
// tens of thousands of records, but bounded so a hang fails instead of eating CI's budget.
const TEST_TIMEOUT_MS = 180_000;

function findTestFiles(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findTestFiles(path));
    else if (entry.isFile() && entry.name.endsWith('.test.js')) found.push(path);
  }
  return found;
}

if (!existsSync(testRoot)) {
  console.error(`run-tests: ${relative(root, testRoot)} does not exist; build first (npm run build)`);
  process.exit(1);
}

const filters = process.argv.slice(2);
const all = findTestFiles(testRoot).sort();
const files = all.filter((file) => {
  if (filters.length === 0) return true;
  const rel = relative(root, file).split(sep).join('/');
  return filters.some((f) => rel.includes(f));
});

if (files.length === 0) {
  console.error(
    filters.length === 0
      ? `run-tests: no *.test.js files under ${relative(root, testRoot)}`
      : `run-tests: no test file path contains any of: ${filters.join(', ')}`,
  );
  process.exit(1);
}

const args = [
  '--test',
  `--test-concurrency=${CONCURRENCY}`,
  `--test-timeout=${TEST_TIMEOUT_MS}`,
  // A file whose tests are done must not hang CI on a handle some test forgot to close.
  '--test-force-exit',
  ...files.map((f) => relative(root, f)),
];
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });

// Forward Ctrl-C / termination so the runner can run its `after` hooks and stop child agents.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal));
}

child.on('exit', (code, signal) => {
  if (signal) {
    console.error(`run-tests: node --test ended by ${signal}`);
    process.exit(1);
  }
  process.exit(code ?? 1);
});
