/**
 * The Redis metadata store against a real redis-server (test/helpers/redis-server.ts): the three
 * shared contracts, each test in a fresh namespace of one server, plus what only Redis has: the
 * durability check, persistence across a redis-server restart, and the scripts' key layout.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { isWeirError } from '../../core/errors.js';
import { checkRedisDurability } from '../../core/metadata/redis-durability.js';
import { luaKeyPrelude, RedisKeys } from '../../core/metadata/redis-keys.js';
import { RedisMetadataStore } from '../../core/metadata/redis-metadata-store.js';
import { entry, groupOffsetContract } from '../contracts/group-offset-contract.js';
import { chunk, commit, metadataStoreContract } from '../contracts/metadata-store-contract.js';
import { partsChunk, producerPart, producerStateContract } from '../contracts/producer-state-contract.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const server = await startRedisServer();
after(() => server.stop());

/** A store in a namespace of its own; cleanup deletes the namespace's keys. */
async function fresh(namespace = `test-${randomUUID()}`): Promise<{ store: RedisMetadataStore; cleanup: () => Promise<void>; reopen: () => Promise<RedisMetadataStore> }> {
  const store = new RedisMetadataStore({ url: server.url, namespace });
  return {
    store,
    reopen: async () => new RedisMetadataStore({ url: server.url, namespace }),
    cleanup: async () => {
      const redis = new Redis(server.url);
      try {
        const keys: string[] = [];
        let cursor = '0';
        do {
          const [next, batch] = await redis.scan(cursor, 'MATCH', store.keys.pattern(), 'COUNT', 1000);
          keys.push(...batch);
          cursor = next;
        } while (cursor !== '0');
        if (keys.length > 0) await redis.del(...keys);
      } finally {
        redis.disconnect();
      }
    },
  };
}

metadataStoreContract('redis', fresh);
groupOffsetContract('redis', fresh);
producerStateContract('redis', fresh);

describe('RedisMetadataStore specifics', () => {
  it('keeps every key of a namespace under its hash tag', async () => {
    const { store, cleanup } = await fresh('tagged');
    const redis = new Redis(server.url);
    try {
      const t = await store.createTopic('t', 2, {});
      await commit(store, [chunk(t, 0, 3)]);
      await store.commitOffsets('g', [entry('t', 1, 5)]);
      const { producerId } = await store.allocateProducerId();
      await commit(store, [partsChunk(t, 1, [producerPart(producerId, 0, 0, 1)])]);
      const keys = await redis.keys('*');
      assert.ok(keys.length >= 8, keys.join(' '));
      for (const key of keys) assert.ok(key.startsWith('{tagged}:'), key);
    } finally {
      redis.disconnect();
      await store.close();
      await cleanup();
    }
  });

  it('builds the same keys in Lua as in TypeScript', async () => {
    const keys = new RedisKeys('ns');
    const redis = new Redis(server.url);
    try {
      const lua = `${luaKeyPrelude()}return { K.topic('a:b'), K.partition('id', '7'), K.groupOffsets(''), K.producers() }`;
      assert.deepEqual(await redis.eval(lua, 0, keys.prefix), [keys.key('topic', 'a:b'), keys.key('partition', 'id', 7), keys.key('groupOffsets', ''), keys.key('producers')]);
    } finally {
      redis.disconnect();
    }
  });

  it('refuses a namespace that would break the hash tag', () => {
    assert.throws(() => new RedisKeys('a}b'), (e) => isWeirError(e, 'invalid_argument'));
    assert.throws(() => new RedisKeys(''), (e) => isWeirError(e, 'invalid_argument'));
  });

  it('keeps offsets and timestamps beyond 2^40 exact', async () => {
    const { store, cleanup } = await fresh();
    try {
      const t = await store.createTopic('t', 1, {});
      const big = 2 ** 41 + 3;
      await commit(store, [chunk(t, 0, big, 1_700_000_000_123)]);
      await commit(store, [chunk(t, 0, 1, 1_700_000_000_456, 7, 9)]);
      assert.deepEqual(await store.getPartitionState('t', 0), { logStartOffset: 0, highWatermark: big + 1 });
      const [, second] = await store.readIndex('t', 0, 0, 10);
      assert.deepEqual(second, { baseOffset: big, lastOffset: big, maxTimestamp: 1_700_000_000_456, objectKey: second!.objectKey, byteStart: 7, byteLength: 9 });
      assert.equal((await store.findByTimestamp('t', 0, 1_700_000_000_124))!.baseOffset, big);
    } finally {
      await store.close();
      await cleanup();
    }
  });
});

describe('checkRedisDurability', () => {
  let noAof: RedisServer;
  let everysec: RedisServer;
  before(async () => {
    noAof = await startRedisServer({ appendonly: false });
    everysec = await startRedisServer({ appendfsync: 'everysec' });
  });
  after(async () => {
    await noAof.stop();
    await everysec.stop();
  });

  const check = async (url: string): Promise<{ durable: boolean; reason: string }> => {
    const redis = new Redis(url);
    try {
      return await checkRedisDurability(redis);
    } finally {
      redis.disconnect();
    }
  };

  it('is durable with appendonly yes and appendfsync always', async () => {
    const result = await check(server.url);
    assert.equal(result.durable, true, result.reason);
  });

  it('is what the store reports for its own connection', async () => {
    const durable = new RedisMetadataStore({ url: server.url, namespace: `test-${randomUUID()}` });
    const not = new RedisMetadataStore({ url: everysec.url, namespace: `test-${randomUUID()}` });
    try {
      assert.equal((await durable.durability()).durable, true);
      assert.equal((await not.durability()).durable, false);
    } finally {
      await durable.close();
      await not.close();
    }
  });

  it('is not durable without the append-only file', async () => {
    const result = await check(noAof.url);
    assert.equal(result.durable, false);
    assert.match(result.reason, /appendonly is no/);
  });

  it('is not durable with appendfsync everysec', async () => {
    const result = await check(everysec.url);
    assert.equal(result.durable, false);
    assert.match(result.reason, /appendfsync is everysec/);
  });
});

describe('RedisMetadataStore persistence', () => {
  it('keeps everything across a kill -9 of redis-server (AOF, appendfsync always)', async () => {
    const own = await startRedisServer();
    const open = (): RedisMetadataStore => new RedisMetadataStore({ url: own.url, namespace: 'weir' });
    const first = open();
    let second: RedisMetadataStore | null = null;
    try {
      const clusterId = await first.clusterId();
      const t = await first.createTopic('t', 2, { 'cleanup.policy': 'delete' });
      const { key } = await commit(first, [chunk(t, 0, 5, 1234, 0, 50), chunk(t, 1, 2, 99, 50, 10)]);
      await first.deleteRecords('t', 0, 2);
      await first.commitOffsets('g', [entry('t', 1, 7, { metadata: 'm' })]);
      const { producerId } = await first.allocateProducerId();
      await commit(first, [partsChunk(t, 1, [producerPart(producerId, 0, 0, 3)])]);
      const state = await first.getProducerState('t', 1, producerId);
      await first.close();

      await own.restart({ kill: true });

      second = open();
      assert.equal(await second.clusterId(), clusterId);
      assert.deepEqual(await second.getTopic('t'), t);
      assert.deepEqual(await second.getPartitionState('t', 0), { logStartOffset: 2, highWatermark: 5 });
      assert.deepEqual(await second.readIndex('t', 0, 0, 10), [{ baseOffset: 0, lastOffset: 4, maxTimestamp: 1234, objectKey: key, byteStart: 0, byteLength: 50 }]);
      assert.equal((await second.findMaxTimestamp('t', 1))!.maxTimestamp, 1000);
      assert.deepEqual((await second.fetchOffsets('g', null)).map((o) => [o.offset, o.metadata]), [[7, 'm']]);
      assert.deepEqual(await second.getProducerState('t', 1, producerId), state);
      assert.ok((await second.allocateProducerId()).producerId > producerId);
    } finally {
      await first.close();
      await second?.close();
      await own.stop();
    }
  });
});
