/**
 * Runs the benchmarks' client processes (python load generators, kcat) to completion with a hard
 * timeout, and reads a process's CPU time from /proc so a report can say who used the two cores.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Debian's interpreter: the only one that sees the apt-installed python3-confluent-kafka. */
export const PYTHON = '/usr/bin/python3';

/** dist/bench/lib/process.js → bench/py/<name> in the source tree (tsc does not copy .py files). */
export function pyScript(name: string): string {
  return fileURLToPath(new URL(`../../../bench/py/${name}`, import.meta.url));
}

export interface RunOptions {
  stdin?: string | Buffer;
  /** Hard limit; the process group is SIGKILLed when it runs out and the promise rejects. */
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  /** Where stdout goes: captured (default) or an fd (e.g. to discard it without a pipe). */
  stdout?: 'pipe' | 'ignore' | number;
  /** Called with each stderr chunk as it arrives (progress lines). */
  onStderr?: (text: string) => void;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit. */
  seconds: number;
  /** The child's user+system CPU seconds, sampled from /proc just before it exited (approximate for very short runs). */
  cpuSeconds: number;
}

const live = new Set<number>();
process.on('exit', () => {
  for (const pid of live) killGroup(pid);
});

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export function runProcess(command: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const stdio: StdioOptions = ['pipe', opts.stdout ?? 'pipe', 'pipe'];
    const start = performance.now();
    // Own process group, so a timeout kills whatever the client spawned too.
    const child = spawn(command, args, { stdio, env: opts.env ?? process.env, detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      stderr += d;
      opts.onStderr?.(d);
    });
    const pid = child.pid;
    let cpu = 0;
    // /proc/<pid>/stat vanishes at exit, so keep the latest reading.
    const sampler = setInterval(() => {
      if (pid !== undefined) cpu = cpuSecondsOf(pid) ?? cpu;
    }, 100);
    if (pid !== undefined) live.add(pid);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (pid !== undefined) killGroup(pid);
    }, opts.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      clearInterval(sampler);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      clearInterval(sampler);
      if (pid !== undefined) live.delete(pid);
      if (timedOut) {
        reject(new Error(`${command} timed out after ${opts.timeoutMs} ms\n--- stderr ---\n${tail(stderr)}`));
        return;
      }
      resolve({ code, stdout, stderr, seconds: (performance.now() - start) / 1000, cpuSeconds: cpu });
    });
    if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
    else child.stdin!.end();
  });
}

function tail(s: string): string {
  return s.length > 3000 ? `...${s.slice(-3000)}` : s;
}

/** Runs bench/py/<script> with `input` as JSON on stdin and returns its stdout parsed as JSON. */
export async function runPython<T>(script: string, input: unknown, opts: Omit<RunOptions, 'stdin'>): Promise<T & { wallSeconds: number; cpuSeconds: number }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' };
  // A pyenv or virtualenv setting must not leak into Debian's interpreter.
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  const r = await runProcess(PYTHON, [pyScript(script)], { ...opts, env, stdin: JSON.stringify(input) });
  if (r.code !== 0) throw new Error(`${script} exited with ${r.code}\n--- stderr ---\n${tail(r.stderr)}\n--- stdout ---\n${tail(r.stdout)}`);
  let parsed: T;
  try {
    parsed = JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`${script} printed no JSON\n--- stdout ---\n${tail(r.stdout)}\n--- stderr ---\n${tail(r.stderr)}`);
  }
  return { ...parsed, wallSeconds: r.seconds, cpuSeconds: r.cpuSeconds };
}

/** Clock ticks per second of /proc/<pid>/stat times; 100 on every Linux this runs on. */
const CLK_TCK = 100;

/** User+system CPU seconds of a live process (all its threads), or null when it is gone. */
export function cpuSecondsOf(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces; fields are counted after its closing paren.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}
