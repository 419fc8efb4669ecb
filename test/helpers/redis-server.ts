/**
 * A real redis-server (from apt, /usr/bin/redis-server) for the Redis metadata store's tests: on a
 * free loopback port, with its data in a temp dir that stop() removes. AOF with appendfsync always
 * by default, as Weir wants it in production; restart() keeps the data dir, so a test can check
 * what survives (kill: true restarts after SIGKILL, as a crash would).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export interface RedisServerOptions {
  /** Append-only file on (default) or off. */
  appendonly?: boolean;
  /** Default 'always'. */
  appendfsync?: 'always' | 'everysec' | 'no';
}

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  restart(options?: { kill?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

const READY = /Ready to accept connections/;

/** Servers still running; killed if the test process exits without stopping them (a failed file). */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'weir-redis-'));
  const port = await freePort();
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', options.appendonly === false ? 'no' : 'yes',
    '--appendfsync', options.appendfsync ?? 'always',
    '--dir', dir,
    '--daemonize', 'no',
    '--protected-mode', 'yes',
  ];
  let child: ChildProcess | null = await launch(args);

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const c = child;
    child = null;
    if (c === null || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill(signal);
    });
  };

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async restart({ kill = false } = {}) {
      await halt(kill ? 'SIGKILL' : 'SIGTERM');
      child = await launch(args);
    },
    async stop() {
      await halt('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Starts redis-server and waits until it serves (after loading its AOF, if any). */
function launch(args: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    child.once('exit', () => live.delete(child));
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start:\n${output}`));
    }, 20_000);
    const onData = (data: Buffer): void => {
      output += data.toString();
      if (READY.test(output)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        // Keep draining so a chatty server never blocks on a full pipe.
        child.stdout!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
}
