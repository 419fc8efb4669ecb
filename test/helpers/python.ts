/**
 * Runs an inline Python script with Debian's /usr/bin/python3 (the one that sees the apt-installed
 * python3-kafka / python3-confluent-kafka), passing JSON in on stdin and reading JSON from stdout.
 * The PATH python3 may be a pyenv build without those modules, so it is never used.
 */
import { runProcess } from './run-process.js';

export const PYTHON = '/usr/bin/python3';

export interface PythonOptions {
  /** Default 60 s; the process group is SIGKILLed when it runs out. */
  timeoutMs?: number;
}

export class PythonError extends Error {
  constructor(
    message: string,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'PythonError';
  }
}

export async function runPython<T>(script: string, input: unknown, opts: PythonOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' };
  // A pyenv or virtualenv setting must not leak into Debian's interpreter.
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  const r = await runProcess(PYTHON, { args: ['-c', script], stdin: JSON.stringify(input), env, timeoutMs });
  const tail = (s: string): string => (s.length > 4000 ? `...${s.slice(-4000)}` : s);
  if (r.timedOut) {
    throw new PythonError(`python timed out after ${timeoutMs} ms\n--- stderr ---\n${tail(r.stderr)}`, r.stdout, r.stderr);
  }
  if (r.code !== 0) {
    throw new PythonError(
      `python exited with ${r.code ?? r.signal}\n--- stderr ---\n${tail(r.stderr)}\n--- stdout ---\n${tail(r.stdout)}`,
      r.stdout,
      r.stderr,
    );
  }
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new PythonError(`python printed no JSON\n--- stdout ---\n${tail(r.stdout)}\n--- stderr ---\n${tail(r.stderr)}`, r.stdout, r.stderr);
  }
}
