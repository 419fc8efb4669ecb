// Checks that the system packages the end-to-end tests drive are installed, and installs the
// missing ones with apt when we run as root (CI runs as root in a fresh machine, so this is how
// the clients get there). Plain Node, no dependencies: it runs before `npm ci`'d code is built.
//
// Why Debian's /usr/bin/python3 and not the `python3` on PATH: the PATH one may be a pyenv
// build that cannot see the apt-installed python3-* modules.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const PYTHON = '/usr/bin/python3';

/** Executables the tests run, and the apt package providing each. */
const commands = [
  { command: 'kcat', apt: 'kcat' },
  { command: 'redis-server', apt: 'redis-server' },
];

/** Modules the tests import from /usr/bin/python3, and the apt package providing each. */
const pythonModules = [
  { module: 'kafka', apt: 'python3-kafka' },
  { module: 'confluent_kafka', apt: 'python3-confluent-kafka' },
  { module: 'lz4', apt: 'python3-lz4' },
  { module: 'snappy', apt: 'python3-snappy' },
  { module: 'zstandard', apt: 'python3-zstandard' },
];

function onPath(command) {
  // /usr/sbin and /sbin are searched too: PATH for a non-login root shell may lack them.
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

function missingPythonModules() {
  try {
    accessSync(PYTHON, constants.X_OK);
  } catch {
    return { python: false, modules: pythonModules };
  }
  // One interpreter start for all modules keeps the all-present case well under a second.
  const script = [
    'import importlib, json, sys',
    'missing = []',
    'for name in sys.argv[1:]:',
    '    try:',
    '        importlib.import_module(name)',
    '    except Exception:',
    '        missing.append(name)',
    'print(json.dumps(missing))',
  ].join('\n');
  const env = { ...process.env };
  // A pyenv or virtualenv setting must not leak into Debian's interpreter.
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  const run = spawnSync(PYTHON, ['-c', script, ...pythonModules.map((m) => m.module)], {
    encoding: 'utf8',
    env,
    timeout: 30_000,
  });
  if (run.status !== 0) {
    return { python: false, modules: pythonModules };
  }
  const missing = new Set(JSON.parse(run.stdout.trim()));
  return { python: true, modules: pythonModules.filter((m) => missing.has(m.module)) };
}

function missingPackages() {
  const packages = [];
  for (const { command, apt } of commands) {
    if (!onPath(command)) packages.push(apt);
  }
  const py = missingPythonModules();
  if (!py.python) packages.push('python3');
  for (const { apt } of py.modules) packages.push(apt);
  return packages;
}

function run(command, args) {
  console.error(`pretest: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  }
}

const missing = missingPackages();
if (missing.length > 0) {
  const installCommand = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    console.error(`pretest: the end-to-end tests need these Debian packages: ${missing.join(' ')}`);
    console.error(`pretest: install them with: sudo sh -c '${installCommand}'`);
    process.exit(1);
  }
  console.error(`pretest: installing missing Debian packages: ${missing.join(' ')}`);
  try {
    run('apt-get', ['update']);
    run('apt-get', ['install', '-y', '--no-install-recommends', ...missing]);
  } catch (err) {
    console.error(`pretest: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  const stillMissing = missingPackages();
  if (stillMissing.length > 0) {
    console.error(`pretest: still missing after apt-get install: ${stillMissing.join(' ')}`);
    process.exit(1);
  }
}
