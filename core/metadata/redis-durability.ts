/**
 * Whether a Redis server keeps what it acknowledged. The Redis store's writes resolve when Redis
 * answers; that answer means "on disk" only with the append-only file on and fsync'ed before
 * every reply (appendfsync always). With appendfsync everysec a crash loses up to a second of
 * acknowledged commits (offsets handed to producers, then reused); with RDB snapshots alone,
 * minutes. The agent decides whether to warn or refuse; this only reports.
 */
import type { Redis } from 'ioredis';

export interface RedisDurability {
  durable: boolean;
  reason: string;
}

export async function checkRedisDurability(redis: Redis): Promise<RedisDurability> {
  let appendonly: string | undefined;
  let appendfsync: string | undefined;
  try {
    appendonly = configValue(await redis.config('GET', 'appendonly'));
    appendfsync = configValue(await redis.config('GET', 'appendfsync'));
  } catch (e) {
    // Managed services often rename or disable CONFIG: then durability cannot be confirmed.
    return { durable: false, reason: `cannot read the server's persistence settings (CONFIG GET failed: ${(e as Error).message})` };
  }
  if (appendonly !== 'yes') {
    return { durable: false, reason: `appendonly is ${appendonly ?? 'unknown'}: without the append-only file a crash loses writes since the last snapshot` };
  }
  if (appendfsync !== 'always') {
    return { durable: false, reason: `appendfsync is ${appendfsync ?? 'unknown'}: only 'always' fsyncs a write before Redis acknowledges it` };
  }
  return { durable: true, reason: 'appendonly yes with appendfsync always: every acknowledged write is fsynced' };
}

/** CONFIG GET answers [name, value] (RESP2) or {name: value} (RESP3). */
function configValue(reply: unknown): string | undefined {
  if (Array.isArray(reply)) return typeof reply[1] === 'string' ? reply[1] : undefined;
  if (reply !== null && typeof reply === 'object') return Object.values(reply as Record<string, unknown>).find((v): v is string => typeof v === 'string');
  return undefined;
}
