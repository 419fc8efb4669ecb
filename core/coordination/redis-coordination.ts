/**
 * The Redis Coordination backend: workers of one group on several machines. Every operation is
 * one Lua script (core/coordination/lua/*.lua, each with a header stating KEYS/ARGV/reply), so
 * each is atomic, and expiry is judged by Redis server time (TIME inside the script), so worker
 * clocks never matter. Leases live in one hash per group with their expiry in the value instead
 * of key TTLs: the fencing counter must outlive every lease, and a hash keeps a group's state in
 * three keys that a tool can read at once. Keys come from core/metadata/redis-keys.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { WeirError } from '../errors.js';
import { packagePath } from '../package-root.js';
import { coordinationKeys, RedisKeys, type CoordinationKeys } from '../metadata/redis-keys.js';
import { checkCoordinationName, checkTtl, type Coordination, type Lease, type WorkerInfo } from './coordination.js';

const SCRIPTS = ['heartbeat', 'workers', 'leave', 'acquire', 'renew', 'release', 'holders'] as const;
type ScriptName = (typeof SCRIPTS)[number];

/** tsc does not copy .lua files to dist/: read them from the package's sources. */
function luaDir(): string {
  return packagePath('core', 'coordination', 'lua');
}

let sources: Map<ScriptName, string> | null = null;
function scriptSources(): Map<ScriptName, string> {
  if (sources === null) {
    const dir = luaDir();
    sources = new Map(SCRIPTS.map((n) => [n, readFileSync(join(dir, `${n}.lua`), 'utf8')]));
  }
  return sources;
}

export interface RedisCoordinationOptions {
  /** redis://host:port, or an existing connection (not closed by close()). */
  url?: string;
  redis?: Redis;
  /** The namespace, as the Redis metadata store's (default 'weir'). */
  namespace?: string;
  /** Per-command timeout; a Redis that stops answering fails operations instead of hanging workers. */
  commandTimeoutMs?: number;
}

type Run = (name: ScriptName, keys: string[], ...args: (string | number)[]) => Promise<unknown>;

export class RedisCoordination implements Coordination {
  readonly kind = 'redis';
  private readonly redis: Redis;
  private readonly owned: boolean;
  private readonly keys: RedisKeys;
  private readonly run: Run;

  constructor(options: RedisCoordinationOptions) {
    if (options.redis !== undefined) {
      this.redis = options.redis;
      this.owned = false;
    } else if (options.url !== undefined) {
      this.redis = new Redis(options.url, {
        lazyConnect: false,
        maxRetriesPerRequest: 2,
        commandTimeout: options.commandTimeoutMs ?? 5_000,
        enableOfflineQueue: true,
      });
      this.owned = true;
    } else {
      throw new WeirError('invalid_argument', 'RedisCoordination needs url or redis');
    }
    this.keys = new RedisKeys(options.namespace ?? 'weir');
    for (const [name, lua] of scriptSources()) this.redis.defineCommand(`weir_coord_${name}`, { lua });
    const commands = this.redis as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>;
    this.run = (name, keys, ...args) =>
      commands[`weir_coord_${name}`]!(keys.length, ...keys, ...args).catch((e: unknown) => {
        throw new WeirError('unavailable', `redis coordination ${name}: ${(e as Error).message}`, { cause: e });
      });
  }

  private k(group: string): CoordinationKeys {
    checkCoordinationName('group', group);
    return coordinationKeys(this.keys, group);
  }

  async heartbeat(group: string, workerId: string, ttlMs: number, meta = ''): Promise<void> {
    checkCoordinationName('worker id', workerId);
    checkTtl(ttlMs);
    const k = this.k(group);
    await this.run('heartbeat', [k.workers, k.workerMeta], workerId, ttlMs, meta);
  }

  async leave(group: string, workerId: string): Promise<void> {
    const k = this.k(group);
    await this.run('leave', [k.workers, k.workerMeta], workerId);
  }

  async workers(group: string): Promise<WorkerInfo[]> {
    const k = this.k(group);
    const flat = (await this.run('workers', [k.workers, k.workerMeta])) as string[];
    const out: WorkerInfo[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ workerId: flat[i]!, meta: flat[i + 1]! });
    return out;
  }

  async acquire(group: string, item: string, workerId: string, ttlMs: number): Promise<Lease | null> {
    checkCoordinationName('item', item);
    checkCoordinationName('worker id', workerId);
    checkTtl(ttlMs);
    const k = this.k(group);
    const token = Number(await this.run('acquire', [k.leases, k.fences], item, workerId, ttlMs));
    return token < 0 ? null : { group, item, workerId, token };
  }

  async renew(lease: Lease, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    const k = this.k(lease.group);
    return Number(await this.run('renew', [k.leases], lease.item, lease.workerId, lease.token, ttlMs)) === 1;
  }

  async release(lease: Lease): Promise<void> {
    const k = this.k(lease.group);
    await this.run('release', [k.leases], lease.item, lease.workerId, lease.token);
  }

  async validate(lease: Lease): Promise<boolean> {
    const k = this.k(lease.group);
    return Number(await this.run('renew', [k.leases], lease.item, lease.workerId, lease.token, 0)) === 1;
  }

  async holders(group: string): Promise<Map<string, { workerId: string; token: number }>> {
    const k = this.k(group);
    const flat = (await this.run('holders', [k.leases])) as (string | number)[];
    const out = new Map<string, { workerId: string; token: number }>();
    for (let i = 0; i < flat.length; i += 3) out.set(String(flat[i]), { workerId: String(flat[i + 1]), token: Number(flat[i + 2]) });
    return out;
  }

  async close(): Promise<void> {
    if (this.owned) await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
