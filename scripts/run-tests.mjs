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

// No --test-force-exit: on Node 20 it ends a file's process while its results are still being
// written to the runner, so the tail of a file's tests goes unreported and the run still passes
// (measured: test/protocol/round-trip reported 177-190 of its 194 tests with it, all 194 without).
// A file that never exits (a handle some test forgot to close) is caught by the watchdog below
// instead, which fails the run.
const args = [
  '--test',
  `--test-concurrency=${CONCURRENCY}`,
  `--test-timeout=${TEST_TIMEOUT_MS}`,
  ...files.map((f) => relative(root, f)),
];
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });

const RUN_TIMEOUT_MS = Number(process.env.WEIR_TEST_RUN_TIMEOUT_MS ?? 45 * 60_000);
const watchdog = setTimeout(() => {
  console.error(`run-tests: the run took over ${RUN_TIMEOUT_MS / 60_000} min; a test file did not exit (a handle left open?): stopping it`);
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  process.exitCode = 1;
}, RUN_TIMEOUT_MS);

// Forward Ctrl-C / termination so the runner can run its `after` hooks and stop child agents.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal));
}

child.on('exit', (code, signal) => {
  clearTimeout(watchdog);
  if (process.exitCode === 1) process.exit(1);
  if (signal) {
    console.error(`run-tests: node --test ended by ${signal}`);
    process.exit(1);
  }
  process.exit(code ?? 1);
});
