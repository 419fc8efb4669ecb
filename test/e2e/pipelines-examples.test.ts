/**
 * Smoke tests of examples/ against a real agent, each run the way a user runs it (`weir run`):
 * word count from its TypeScript source (compiled on the fly), clickstream sessions (session
 * windows joined with the users table) and Nexmark q1 from the compiled files. Each checks the
 * results, not just that something came out.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KafkaClient } from '../../core/client/index.js';
import { NexmarkGenerator } from '../../pipelines/nexmark/index.js';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { repoRoot } from '../helpers/repo-root.js';
import { closingLines, compiledExample, emittedCounts, expectedCounts, produce, readTopic, until, weirRun, wordCountLines } from './pipelines-support.js';

let agent: Agent;
let client: KafkaClient;
let dataDir: string;

before(async () => {
  agent = await startAgent({ lingerMs: 20 });
  client = new KafkaClient({ brokers: [agent.bootstrap], clientId: 'examples-test' });
  dataDir = mkdtempSync(join(tmpdir(), 'weir-pipeline-examples-'));
});
after(async () => {
  await client?.close();
  await stopAllAgents();
  rmSync(dataDir, { recursive: true, force: true });
});

const common = (): string[] => ['--brokers', agent.bootstrap, '--data-dir', dataDir, '--checkpoint-interval-ms', '500', '--status-interval-ms', '0'];

describe('examples against a real agent', () => {
  it('word-count.ts (TypeScript source, compiled by weir run) counts words per minute', async () => {
    await client.createTopics([{ name: 'lines', partitions: 2 }]);
    const lines = wordCountLines(2, 1_000, 500);
    await produce(client, 'lines', [...lines, ...closingLines(2)]);
    const expected = expectedCounts(lines, 60_000);
    const run = weirRun(join(repoRoot(import.meta.url), 'examples', 'word-count.ts'), common());
    await run.waitFor(/running with 1 worker/);
    await until('every word count', async () => (await client.topicExists('word-counts')) && emittedCounts(await readTopic(client, 'word-counts')).size >= expected.size);
    assert.equal(await run.stop(), 0);
    const got = emittedCounts(await readTopic(client, 'word-counts'));
    assert.deepEqual(new Map([...got].map(([k, v]) => [k, v[0]])), expected);
  });

  it('clickstream-sessions: session windows per user, joined with the users table', async () => {
    await client.createTopics([
      { name: 'clicks', partitions: 2 },
      { name: 'users', partitions: 3 },
    ]);
    const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
    await produce(client, 'users', [
      { partition: 0, key: Buffer.from('ada'), value: json({ name: 'Ada', country: 'UK' }) },
      { partition: 1, key: Buffer.from('bob'), value: json({ name: 'Bob', country: 'US' }) },
      { partition: 1, key: Buffer.from('bob'), value: json({ name: 'Bob', country: 'CA' }) }, // latest wins
    ]);
    const t0 = 1_700_000_000_000;
    const min = 60_000;
    const click = (user: string, partition: number, atMin: number, page: string) => ({ partition, key: Buffer.from(user), value: json({ page, ts: t0 + atMin * min }), timestamp: t0 + atMin * min });
    await produce(client, 'clicks', [
      // ada: two sessions (gap of 45 minutes between them); bob: one; eve: one, unknown user.
      click('ada', 0, 0, '/home'), click('ada', 0, 5, '/cart'), click('ada', 0, 10, '/home'),
      click('ada', 0, 55, '/news'),
      click('bob', 1, 2, '/home'), click('bob', 1, 20, '/pay'),
      click('eve', 0, 3, '/home'),
      // Far later clicks on both partitions close every session above.
      click('zed', 0, 10_000, '/x'), click('zed', 1, 10_000, '/x'),
    ]);
    const run = weirRun(compiledExample('clickstream-sessions'), common());
    await run.waitFor(/running with 1 worker/);
    await until('four sessions', async () => (await client.topicExists('user-sessions')) && (await readTopic(client, 'user-sessions')).length >= 4);
    assert.equal(await run.stop(), 0);
    const sessions = (await readTopic(client, 'user-sessions'))
      .map((r) => JSON.parse(r.value!) as { user: string; name: string | null; country: string; start: number; clicks: number; pages: string[] })
      .map((s) => ({ user: s.user, name: s.name, country: s.country, startMin: (s.start - t0) / min, clicks: s.clicks, pages: s.pages }))
      .sort((a, b) => (a.user === b.user ? a.startMin - b.startMin : a.user < b.user ? -1 : 1));
    assert.deepEqual(sessions, [
      { user: 'ada', name: 'Ada', country: 'UK', startMin: 0, clicks: 3, pages: ['/cart', '/home'] },
      { user: 'ada', name: 'Ada', country: 'UK', startMin: 55, clicks: 1, pages: ['/news'] },
      { user: 'bob', name: 'Bob', country: 'CA', startMin: 2, clicks: 2, pages: ['/home', '/pay'] },
      { user: 'eve', name: null, country: 'unknown', startMin: 3, clicks: 1, pages: ['/home'] },
    ]);
  });

  it('nexmark q1 converts every bid\'s price', async () => {
    await client.createTopics([{ name: 'nexmark', partitions: 2 }]);
    const gen = new NexmarkGenerator({ eventsPerSecond: 1000 });
    const events = Array.from({ length: 2000 }, () => gen.next());
    const bids = events.filter((e) => e.type === 'bid');
    await produce(client, 'nexmark', events.map((e, i) => ({ partition: i % 2, key: Buffer.from(String(i)), value: Buffer.from(JSON.stringify(e)) })));
    const run = weirRun(compiledExample('nexmark'), [...common(), '--pipeline', 'nexmark-q1']);
    await run.waitFor(/nexmark-q1 running with 1 worker/);
    await until('every converted bid', async () => (await client.topicExists('nexmark-q1-out')) && (await readTopic(client, 'nexmark-q1-out')).length >= bids.length);
    assert.equal(await run.stop(), 0);
    const out = (await readTopic(client, 'nexmark-q1-out')).map((r) => JSON.parse(r.value!) as { auction: number; bidder: number; price: number; dateTime: number });
    assert.equal(out.length, bids.length);
    const want = new Map(bids.map((e) => [`${e.bid.auction}/${e.bid.bidder}/${e.bid.dateTime}`, 0.908 * e.bid.price]));
    for (const o of out) assert.equal(o.price, want.get(`${o.auction}/${o.bidder}/${o.dateTime}`));
  });
});
