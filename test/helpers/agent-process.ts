/**
 * Starts a real Weir agent as a child process (the compiled CLI), the way a user would, so the
 * end-to-end tests exercise the same binary, flags, startup and shutdown paths.
 *
 * Cleanup: every agent started here is tracked; `stopAllAgents()` (call it from an `after` hook)
 * stops them and removes the temp data dirs this module created, and a process 'exit' handler
 * SIGKILLs whatever is still running so a crashed test file never leaves agents behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './repo-root.js';

/**
 * The compiled CLI: dist/test/helpers/agent-process.js → dist/agent/cli/main.js. Run from
 * sources (tsx), that relative path has no .js file, so the built one under the repo root is used.
 */
export const AGENT_CLI = ((): string => {
  const besideCompiled = fileURLToPath(new URL('../../agent/cli/main.js', import.meta.url));
  return existsSync(besideCompiled) ? besideCompiled : join(repoRoot(import.meta.url), 'dist', 'agent', 'cli', 'main.js');
})();

const READY_LINE = /^weir agent listening on (127\.0\.0\.1):(\d+)$/;

export interface AgentOptions {
  /** Reuse a data dir (it is then not removed by cleanup); default: a fresh temp dir. */
  dataDir?: string;
  lingerMs?: number;
  flushBytes?: number;
  /** Maps to `--auto-create-topics true|false`; unset leaves the agent's default (true). */
  autoCreateTopics?: boolean;
  /** Appended after the standard flags. */
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the ready line; default 30 s. */
  readyTimeoutMs?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Agent {
  readonly host: string;
  readonly port: number;
  /** "127.0.0.1:<port>", for a client's bootstrap servers. */
  readonly bootstrap: string;
  readonly dataDir: string;
  readonly pid: number;
  /** Resolves when the process exits, however it exits. */
  readonly exited: Promise<ExitInfo>;
  isRunning(): boolean;
  /** SIGTERM, then waits for exit; if it has not exited after `timeoutMs` (default 30 s) it is SIGKILLed and this rejects. */
  stop(timeoutMs?: number): Promise<ExitInfo>;
  /** SIGKILL, then waits for exit. */
  kill9(): Promise<void>;
  /** Stops this agent if it still runs (SIGTERM) and starts a new one on the same data dir with the same flags. */
  restart(): Promise<Agent>;
  /** Everything the process wrote so far, stdout and stderr interleaved as received. */
  output(): string;
  stderr(): string;
  /** The argv the agent was started with (after `node`). */
  readonly args: readonly string[];
}

interface Tracked {
  child: ChildProcess;
  /** Set when the test asked the process to stop; an exit without it is reported. */
  exitExpected: boolean;
  exit: ExitInfo | null;
  output: () => string;
}

const tracked = new Set<Tracked>();
/** Data dirs this module created; each is removed once at cleanup, however many restarts used it. */
const ownedDirs = new Set<string>();

process.on('exit', () => {
  for (const t of tracked) {
    if (t.exit === null) t.child.kill('SIGKILL');
  }
  for (const dir of ownedDirs) rmSync(dir, { recursive: true, force: true });
});

function buildArgs(dataDir: string, opts: AgentOptions): string[] {
  const args = [AGENT_CLI, 'agent', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir];
  if (opts.lingerMs !== undefined) args.push('--linger-ms', String(opts.lingerMs));
  if (opts.flushBytes !== undefined) args.push('--flush-bytes', String(opts.flushBytes));
  if (opts.autoCreateTopics !== undefined) args.push('--auto-create-topics', String(opts.autoCreateTopics));
  args.push(...(opts.extraArgs ?? []));
  return args;
}

export async function startAgent(opts: AgentOptions = {}): Promise<Agent> {
  let dataDir = opts.dataDir;
  if (dataDir === undefined) {
    dataDir = mkdtempSync(join(tmpdir(), 'weir-e2e-'));
    ownedDirs.add(dataDir);
  }
  const args = buildArgs(dataDir, opts);
  // The agent also reads WEIR_<FLAG> variables: a developer's shell must not change what a test runs.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WEIR_')));
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...inherited, ...opts.env },
  });

  // Unreferenced: an agent a test forgot to stop must not keep the test file's process alive
  // (node --test would wait forever); the 'exit' handler above kills it instead. Every wait below
  // holds a timer, which keeps the process alive while a test awaits the agent.
  child.unref();
  (child.stdout as unknown as { unref(): void }).unref();
  (child.stderr as unknown as { unref(): void }).unref();

  let all = '';
  let err = '';
  const t: Tracked = { child, exitExpected: false, exit: null, output: () => all };
  tracked.add(t);

  const exited = new Promise<ExitInfo>((resolve) => {
    child.on('exit', (code, signal) => {
      t.exit = { code, signal };
      resolve(t.exit);
    });
  });
  child.on('error', () => {
    // A spawn failure also emits 'exit' (or leaves pid undefined, handled below); nothing to add.
  });

  const ready = new Promise<{ host: string; port: number }>((resolve, reject) => {
    let pending = '';
    const timeoutMs = opts.readyTimeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      reject(new Error(`agent did not print its ready line within ${timeoutMs} ms\nargs: ${args.join(' ')}\n--- output ---\n${all}`));
    }, timeoutMs);
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      all += chunk;
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).replace(/\r$/, '');
        pending = pending.slice(nl + 1);
        const m = READY_LINE.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve({ host: m[1]!, port: Number(m[2]) });
        }
      }
    });
    child.stderr!.on('data', (chunk: string) => {
      all += chunk;
      err += chunk;
    });
    void exited.then((info) => {
      clearTimeout(timer);
      reject(new Error(`agent exited (code ${info.code}, signal ${info.signal}) before it was ready\nargs: ${args.join(' ')}\n--- output ---\n${all}`));
    });
  });

  const waitExit = async (timeoutMs: number): Promise<ExitInfo | null> => {
    if (t.exit !== null) return t.exit;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    });
    try {
      return await Promise.race([exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  let address: { host: string; port: number };
  try {
    address = await ready;
  } catch (e) {
    t.exitExpected = true;
    if (t.exit === null) {
      child.kill('SIGKILL');
      await waitExit(10_000);
    }
    throw e;
  }

  const agent: Agent = {
    host: address.host,
    port: address.port,
    bootstrap: `${address.host}:${address.port}`,
    dataDir,
    pid: child.pid!,
    exited,
    args,
    isRunning: () => t.exit === null,
    output: () => all,
    stderr: () => err,
    async stop(timeoutMs = 30_000) {
      t.exitExpected = true;
      if (t.exit !== null) return t.exit;
      child.kill('SIGTERM');
      const info = await waitExit(timeoutMs);
      if (info !== null) return info;
      child.kill('SIGKILL');
      await waitExit(10_000);
      throw new Error(`agent did not exit within ${timeoutMs} ms of SIGTERM; killed\n--- output ---\n${all}`);
    },
    async kill9() {
      t.exitExpected = true;
      if (t.exit !== null) return;
      child.kill('SIGKILL');
      if ((await waitExit(10_000)) === null) throw new Error(`agent (pid ${child.pid}) still running 10 s after SIGKILL`);
    },
    async restart() {
      if (t.exit === null) await agent.stop();
      return startAgent({ ...opts, dataDir });
    },
  };
  return agent;
}

/**
 * Stops every agent this process started (SIGTERM, then SIGKILL after 10 s) and removes the temp
 * data dirs. Prints the output of any agent that exited without being asked to, since that is
 * usually the cause of whatever failed.
 */
export async function stopAllAgents(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const t of tracked) {
    if (t.exit !== null && !t.exitExpected) {
      console.error(`weir agent (pid ${t.child.pid}) exited unexpectedly (code ${t.exit.code}, signal ${t.exit.signal})\n--- output ---\n${t.output()}`);
    }
    if (t.exit === null) {
      t.exitExpected = true;
      t.child.kill('SIGTERM');
      waits.push(
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => t.child.kill('SIGKILL'), 10_000);
          t.child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        }),
      );
    }
  }
  await Promise.all(waits);
  tracked.clear();
  for (const dir of ownedDirs) rmSync(dir, { recursive: true, force: true });
  ownedDirs.clear();
}
