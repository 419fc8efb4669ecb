/**
 * A connection that sends bytes which are not a Kafka request (an absurd or negative size
 * prefix, an unknown API, a body that does not parse) is closed by the agent, and nothing else
 * is: clients connected at the same time keep producing and reading, and the process stays up.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Producer } from 'kafkajs';
import { buildBatch } from '../../core/records/records.js';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { kcatConsume } from '../helpers/kcat.js';
import { connectedProducer, createTopics } from '../helpers/kafkajs.js';
import { RawClient, rawProduce } from '../helpers/raw-client.js';

const TOPIC = 'garbage-neighbours';
/** Liveness bound, not a speed check: a close that never comes must fail the test, not hang it. */
const CLOSE_WITHIN_MS = 15_000;

/** Deterministic filler bytes (a fixed LCG), so a failure reproduces byte for byte. */
function filler(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

/** A frame: size prefix matching the body. */
function frame(body: Buffer): Buffer {
  return Buffer.concat([int32(body.length), body]);
}

/** Request header v1: api key, version, correlation id, client id. */
function header(apiKey: number, version: number): Buffer {
  const b = Buffer.alloc(2 + 2 + 4 + 2 + 6);
  b.writeInt16BE(apiKey, 0);
  b.writeInt16BE(version, 2);
  b.writeInt32BE(42, 4);
  b.writeInt16BE(6, 8);
  b.write('junker', 10, 'latin1');
  return b;
}

const GARBAGE: Array<{ name: string; bytes: Buffer }> = [
  { name: 'size prefix 0x7fffffff', bytes: Buffer.concat([int32(0x7fffffff), filler(64, 1)]) },
  { name: 'negative size prefix (-1)', bytes: Buffer.concat([int32(-1), filler(64, 2)]) },
  { name: 'negative size prefix (INT32_MIN)', bytes: Buffer.concat([int32(-0x80000000), filler(64, 3)]) },
  { name: 'size prefix 0', bytes: Buffer.concat([int32(0), filler(64, 4)]) },
  { name: 'plausible size, random bytes, unknown api key', bytes: frame(Buffer.concat([Buffer.from([0x7f, 0xff]), filler(98, 5)])) },
  {
    name: 'Produce v3 header, body not parseable (transactional id longer than the frame)',
    bytes: frame(Buffer.concat([header(0, 3), Buffer.from([0x7f, 0xf0]), filler(40, 6)])),
  },
  {
    name: 'Metadata v1 header, body truncated mid-array',
    // topics array of 1000 entries, then nothing.
    bytes: frame(Buffer.concat([header(3, 1), int32(1000)])),
  },
];

let agent: Agent;
let producer: Producer;
let neighbour: RawClient;
let sentValues = 0;

async function produceOne(): Promise<void> {
  const value = `v${sentValues}`;
  const [res] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: 'k', value, partition: 0 }] });
  assert.equal(res?.errorCode, 0);
  sentValues++;
}

before(async () => {
  agent = await startAgent({ lingerMs: 20 });
  await createTopics(agent.bootstrap, [{ topic: TOPIC, numPartitions: 1 }]);
  // Both connected before any garbage arrives, and used after each piece of it.
  producer = await connectedProducer(agent.bootstrap, { retry: { retries: 0 } });
  await produceOne();
  neighbour = await RawClient.connect(agent.host, agent.port);
});
after(async () => {
  neighbour?.close();
  await producer?.disconnect();
  await stopAllAgents();
});

describe('garbage on one connection', () => {
  for (const g of GARBAGE) {
    it(`${g.name}: that connection is closed, the others keep working`, async () => {
      const junk = await RawClient.connect(agent.host, agent.port);
      try {
        await junk.write(g.bytes).catch(() => {
          // The agent may close before taking every byte; the close is what is checked.
        });
        let timer: NodeJS.Timeout | undefined;
        const outcome = await Promise.race([
          junk.closed.then(() => 'closed' as const),
          new Promise<'open'>((resolve) => {
            timer = setTimeout(() => resolve('open'), CLOSE_WITHIN_MS);
          }),
        ]);
        clearTimeout(timer);
        assert.equal(outcome, 'closed', `the agent kept the connection open ${CLOSE_WITHIN_MS} ms after: ${g.bytes.subarray(0, 24).toString('hex')}...`);
      } finally {
        junk.close();
      }

      assert.equal(agent.isRunning(), true, `agent died:\n${agent.output()}`);
      await produceOne();
      assert.equal(neighbour.isClosed, false, 'a connection that sent nothing wrong was closed');
      const batch = await buildBatch({ records: [{ key: 'k', value: `v${sentValues}` }] });
      const r = await rawProduce(neighbour, { topic: TOPIC, partition: 0, batch });
      assert.equal(r.errorCode, 0);
      assert.equal(r.baseOffset, BigInt(sentValues));
      sentValues++;
    });
  }

  it('every record the well-behaved clients sent is readable, in order', async () => {
    const read = await kcatConsume({ bootstrap: agent.bootstrap, topic: TOPIC });
    assert.deepEqual(
      read.map((r) => [r.offset, r.payload]),
      Array.from({ length: sentValues }, (_, i) => [i, `v${i}`]),
    );
    assert.equal(agent.isRunning(), true);
  });
});
