/**
 * Runs a short-lived client process (python, kcat) to completion with a hard timeout, so a
 * client that hangs on a misbehaving agent fails its test instead of stalling the suite.
 */
import { spawn } from 'node:child_process';

export interface RunOptions {
  args: readonly string[];
  stdin?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Process groups still running; killed if the test process exits first (a failed test file). */
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

export function runProcess(command: string, opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // detached: the client gets its own process group, so a timeout kills it and anything it spawned.
    const child = spawn(command, opts.args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (stdout += d));
    child.stderr.on('data', (d: string) => (stderr += d));
    const pid = child.pid;
    if (pid !== undefined) live.add(pid);
    const timer = setTimeout(() => {
      timedOut = true;
      if (pid !== undefined) killGroup(pid);
    }, opts.timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      if (pid !== undefined) live.delete(pid);
    };
    child.on('error', (err) => {
      done();
      reject(err);
    });
    child.on('close', (code, signal) => {
      done();
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    // A client that exits without reading all of stdin makes the write fail with EPIPE; the exit
    // status tells the story, so the pipe error itself is ignored.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.stdin ?? '');
  });
}
