/**
 * Starts and stops a real Weir agent for a benchmark: the compiled CLI in its own process, on
 * loopback with port 0, exactly as a user would run it, so the figures include everything a
 * deployment pays (process, sockets, fsync).
 *
 * Every agent and temp dir made here is tracked; `cleanup()` (and, as a last resort, the process
 * 'exit' and signal handlers) stop the agents and remove the dirs, so an interrupted benchmark
 * leaves nothing behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * RAM-backed scratch space for client input files: writing a GiB of kcat input to the disk the
 * agent fsyncs to would leave writeback competing with the very flushes being measured.
 */
export const RAM_DIR = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

/** dist/bench/lib/agent.js → dist/agent/cli/main.js */
export const AGENT_CLI = fileURLToPath(new URL('../../agent/cli/main.js', import.meta.url));
export const WEIR_BIN = fileURLToPath(new URL('../../../scripts/weir', import.meta.url));

const READY_LINE = /^weir agent listening on (127\.0\.0\.1):(\d+)$/m;

export interface AgentOptions {
  dataDir: string;
  lingerMs?: number;
  /** More agent flags, appended as given (e.g. ['--default-partitions', '16']). */
  extraArgs?: string[];
  /** Node flags put before the CLI (e.g. ['--cpu-prof', '--cpu-prof-dir', dir]). */
  nodeArgs?: string[];
  readyTimeoutMs?: number;
}

export interface RunningAgent {
  readonly bootstrap: string;
  readonly pid: number;
  readonly dataDir: string;
  /** stdout and stderr so far, for error messages. */
  output(): string;
  /** SIGTERM (the agent flushes and exits), SIGKILL after timeoutMs. Resolves once it is gone. */
  stop(timeoutMs?: number): Promise<void>;
}

const running = new Set<ChildProcess>();
const tempDirs = new Set<string>();

function killAllNow(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllNow();
    process.exit(130);
  });
}

/** A fresh temp dir removed by cleanup(); under `base` (default: the OS temp dir). */
export function makeTempDir(prefix: string, base = tmpdir()): string {
  const dir = mkdtempSync(join(base, `weir-bench-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  // Through scripts/weir, the `weir` bin users run (it sets the malloc tunables); node flags
  // such as --cpu-prof travel in WEIR_NODE_ARGS.
  const args = [
    WEIR_BIN,
    'agent',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--data-dir',
    opts.dataDir,
    ...(opts.lingerMs === undefined ? [] : ['--linger-ms', String(opts.lingerMs)]),
    ...(opts.extraArgs ?? []),
  ];
  const env = { ...process.env, WEIR_NODE_ARGS: [process.env.WEIR_NODE_ARGS ?? '', ...(opts.nodeArgs ?? [])].join(' ').trim() };
  const child = spawn('sh', args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  running.add(child);
  let output = '';
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running.delete(child);
      resolve();
    });
  });
  const address = await new Promise<string>((resolve, reject) => {
    const timeoutMs = opts.readyTimeoutMs ?? 30_000;
    const timer = setTimeout(() => reject(new Error(`agent not ready after ${timeoutMs} ms\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const m = READY_LINE.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(`${m[1]}:${m[2]}`);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`agent exited before it was ready (args: ${args.join(' ')})\n${output}`));
    });
  }).catch(async (e: unknown) => {
    child.kill('SIGKILL');
    await exited;
    throw e;
  });
  return {
    bootstrap: address,
    pid: child.pid!,
    dataDir: opts.dataDir,
    output: () => output,
    async stop(timeoutMs = 60_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Stops every agent still running (SIGTERM, then SIGKILL) and removes the temp dirs. */
export async function cleanup(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}
