/**
 * The table manifest (table-manifest.ts) in Redis, for table connectors whose agents share a
 * Redis metadata store. Keys: the "Table manifests" section of redis-keys.ts. Every write touching
 * more than one key is a Lua script (lua/table-*.lua), so commits are atomic; getTable reads the
 * four keys of a table in one MULTI, so its files and next offsets are one snapshot.
 *
 * Durability is the server's, as for the metadata store (appendonly yes, appendfsync always).
 */
import { readFileSync } from 'node:fs';
import { packagePath } from '../package-root.js';
import { Redis } from 'ioredis';
import { WeirError, isWeirError } from '../errors.js';
import { RedisKeys, tableManifestKeys, type TableManifestKeys } from './redis-keys.js';
import {
  assertAppendCommit,
  assertMergeCommit,
  assertTableTopic,
  decodeTableFile,
  encodeTableFile,
  type AppendCommit,
  type AppendResult,
  type CommittedTableFile,
  type MergeCommit,
  type TableManifestStore,
  type TableState,
} from './table-manifest.js';

export interface RedisTableManifestOptions {
  url?: string;
  /** Or an existing connection, which close() leaves open. */
  redis?: Redis;
  /** The Weir cluster's namespace (redis-keys.ts); default 'weir'. */
  namespace?: string;
  now?: () => number;
}

const SCRIPTS = { 'table-commit-append': 4, 'table-commit-merge': 3, 'table-drop': 5 } as const;
type ScriptName = keyof typeof SCRIPTS;

/** tsc does not copy .lua files to dist/: read them from the repository root (as redis-scripts.ts does). */
function luaSource(name: ScriptName): string {
  return readFileSync(packagePath('core', 'metadata', 'lua', `${name}.lua`), 'utf8');
}

export class RedisTableManifestStore implements TableManifestStore {
  readonly kind = 'redis';
  readonly keys: TableManifestKeys;
  private readonly redis: Redis;
  private readonly ownsConnection: boolean;
  private readonly now: () => number;

  constructor(options: RedisTableManifestOptions) {
    this.keys = tableManifestKeys(new RedisKeys(options.namespace ?? 'weir'));
    this.now = options.now ?? Date.now;
    if (options.redis !== undefined) {
      this.redis = options.redis;
      this.ownsConnection = false;
    } else {
      if (options.url === undefined) throw new WeirError('invalid_argument', 'redis table manifest needs a url or a connection');
      this.redis = new Redis(options.url, { maxRetriesPerRequest: 3 });
      this.ownsConnection = true;
    }
    for (const [name, numberOfKeys] of Object.entries(SCRIPTS) as [ScriptName, number][]) {
      this.redis.defineCommand(commandName(name), { numberOfKeys, lua: luaSource(name) });
    }
  }

  private run(name: ScriptName, keys: string[], args: (string | number)[]): Promise<unknown> {
    const fn = (this.redis as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[commandName(name)]!;
    return fn.call(this.redis, ...keys, ...args);
  }

  private async guard<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (isWeirError(e)) throw e;
      throw new WeirError('unavailable', `redis table manifest ${op}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
  }

  async getTable(topic: string): Promise<TableState | null> {
    assertTableTopic(topic);
    const k = this.keys;
    return this.guard('getTable', async () => {
      const replies = await this.redis.multi().hgetall(k.table(topic)).hgetall(k.progress(topic)).hgetall(k.files(topic)).hgetall(k.retired(topic)).exec();
      if (replies === null) throw new WeirError('unavailable', 'redis table manifest getTable: transaction aborted');
      for (const [err] of replies) if (err) throw err;
      const [table, progress, files, retired] = replies.map(([, v]) => v as Record<string, string>);
      if (table!.topicId === undefined) return null;
      const decoded: CommittedTableFile[] = Object.entries(files!).map(([key, v]) => {
        const a = v.indexOf('|');
        const b = v.indexOf('|', a + 1);
        return decodeTableFile(key, v.slice(b + 1), Number(v.slice(0, a)), Number(v.slice(a + 1, b)));
      });
      decoded.sort((x, y) => x.seq - y.seq);
      return {
        topic,
        topicId: table!.topicId,
        createdAtMs: Number(table!.createdAtMs),
        nextOffsets: new Map(Object.entries(progress!).map(([p, o]) => [Number(p), Number(o)] as [number, number]).sort((x, y) => x[0] - y[0])),
        files: decoded,
        retired: Object.entries(retired!).map(([key, t]) => ({ key, retiredAtMs: Number(t) })).sort((x, y) => x.retiredAtMs - y.retiredAtMs || (x.key < y.key ? -1 : 1)),
      };
    });
  }

  async listTables(): Promise<string[]> {
    return this.guard('listTables', async () => (await this.redis.smembers(this.keys.tables)).sort());
  }

  async commitAppend(topic: string, commit: AppendCommit): Promise<AppendResult> {
    assertTableTopic(topic);
    assertAppendCommit(commit);
    const k = this.keys;
    return this.guard('commitAppend', async () => {
      const args: (string | number)[] = [topic, commit.topicId, String(commit.partition), String(commit.fromOffset), String(commit.nextOffset), String(this.now())];
      for (const f of commit.files) args.push(f.key, encodeTableFile(f));
      const reply = (await this.run('table-commit-append', [k.tables, k.table(topic), k.progress(topic), k.files(topic)], args)) as string[];
      if (reply[0] === 'ok') return { ok: true };
      if (reply[0] === 'offset_mismatch') return { ok: false, reason: 'offset_mismatch', nextOffset: Number(reply[1]) };
      if (reply[0] === 'topic_id_mismatch') return { ok: false, reason: 'topic_id_mismatch', topicId: String(reply[1]) };
      throw new WeirError('internal', `table-commit-append answered ${JSON.stringify(reply)}`);
    });
  }

  async commitMerge(topic: string, merge: MergeCommit): Promise<boolean> {
    assertTableTopic(topic);
    assertMergeCommit(merge);
    const k = this.keys;
    return this.guard('commitMerge', async () => {
      const reply = await this.run('table-commit-merge', [k.table(topic), k.files(topic), k.retired(topic)], [
        String(this.now()),
        merge.add.key,
        encodeTableFile(merge.add),
        ...merge.remove,
      ]);
      return Number(reply) === 1;
    });
  }

  async purgeRetired(topic: string, keys: string[]): Promise<void> {
    assertTableTopic(topic);
    if (keys.length === 0) return;
    await this.guard('purgeRetired', () => this.redis.hdel(this.keys.retired(topic), ...keys));
  }

  async dropTable(topic: string): Promise<string[]> {
    assertTableTopic(topic);
    const k = this.keys;
    return this.guard('dropTable', async () =>
      (await this.run('table-drop', [k.tables, k.table(topic), k.progress(topic), k.files(topic), k.retired(topic)], [topic])) as string[],
    );
  }

  async close(): Promise<void> {
    if (this.ownsConnection) this.redis.disconnect();
  }
}

function commandName(name: ScriptName): string {
  return `weir_${name.replace(/-/g, '_')}`;
}
