import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serdes, TestDriver, toTopic } from '../../pipelines/index.js';
import { NexmarkGenerator, eventTime, nexmarkQuery, type Auction, type Bid, type NexmarkEvent, type NexmarkQuery, type Person } from '../../pipelines/nexmark/index.js';

// 1000 events per second of event time: 30 000 events span 30 s, so 10 s windows open and close.
const N = 30_000;
function generate(n = N): NexmarkEvent[] {
  const g = new NexmarkGenerator({ eventsPerSecond: 1_000 });
  return Array.from({ length: n }, () => g.next());
}
const EVENTS = generate();
const bids = EVENTS.flatMap((e) => (e.type === 'bid' ? [e.bid] : []));
const auctions = EVENTS.flatMap((e) => (e.type === 'auction' ? [e.auction] : []));
const persons = EVENTS.flatMap((e) => (e.type === 'person' ? [e.person] : []));

function run(q: NexmarkQuery): unknown[] {
  const p = nexmarkQuery(q, { sink: toTopic('out', { key: serdes.json(), value: serdes.json() }), partitions: 3 });
  const d = new TestDriver(p, { partitions: { nexmark: 2 } });
  // In batches of 500 per partition, alternating, as a runtime would fetch them.
  for (let i = 0; i < EVENTS.length; i += 500) {
    d.pipe('nexmark', EVENTS.slice(i, i + 500).map((value, j) => ({ value, timestamp: eventTime(value), partition: ((i / 500) % 2) as number, key: `${i + j}` })), { batch: true });
  }
  d.endOfInput();
  return d.output('out').map((r) => r.value);
}

const sorted = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();

describe('Nexmark generator', () => {
  it('mixes person:auction:bid as 1:3:46, deterministically, with ids, hot items and event times as Beam does', () => {
    const kinds = EVENTS.slice(0, 50).map((e) => e.type);
    assert.deepEqual(kinds.filter((k) => k === 'person').length, 1);
    assert.deepEqual(kinds.filter((k) => k === 'auction').length, 3);
    assert.deepEqual(kinds.filter((k) => k === 'bid').length, 46);
    assert.equal(persons.length, N / 50);
    assert.equal(auctions.length, (3 * N) / 50);
    assert.deepEqual(generate(500), EVENTS.slice(0, 500));
    assert.deepEqual(persons.slice(0, 3).map((p) => p.id), [1000, 1001, 1002]);
    assert.deepEqual(auctions.slice(0, 3).map((a) => a.id), [1000, 1001, 1002]);
    for (const a of auctions) {
      assert.ok(a.category >= 10 && a.category < 15);
      assert.ok(a.expires > a.dateTime);
      assert.ok(a.reserve >= a.initialBid);
    }
    // Half the bids go to the hot auction of their block (ratio 2): auction ids cluster.
    const hot = bids.filter((b) => (b.auction - 1000) % 100 === 0).length;
    assert.ok(hot > bids.length * 0.4, `hot auction share ${hot / bids.length}`);
    assert.equal(eventTime(EVENTS[1_000]!) - eventTime(EVENTS[0]!), 1_000, '1000 events per second of event time');
    const bidSize = bids.reduce((s, b) => s + b.extra.length + 32, 0) / bids.length;
    assert.ok(bidSize > 90 && bidSize < 110, `average bid size ${bidSize}`);
  });
});

describe('Nexmark queries match a plain reference computation', () => {
  it('q0 passes every bid through; q1 converts prices; q2 selects auctions divisible by 123', () => {
    assert.deepEqual(sorted(run('q0')), sorted(bids));
    assert.deepEqual(sorted(run('q1')), sorted(bids.map((b) => ({ auction: b.auction, bidder: b.bidder, price: 0.908 * b.price, dateTime: b.dateTime, extra: b.extra }))));
    const q2 = run('q2');
    assert.ok(q2.length > 0);
    assert.deepEqual(sorted(q2), sorted(bids.filter((b) => b.auction % 123 === 0).map((b) => ({ auction: b.auction, price: b.price }))));
  });

  it('q3: sellers in OR/ID/CA joined with their category-10 auctions', () => {
    const byId = new Map<number, Person>(persons.filter((p) => ['OR', 'ID', 'CA'].includes(p.state)).map((p) => [p.id, p]));
    const expected = auctions
      .filter((a) => a.category === 10 && byId.has(a.seller))
      .map((a) => ({ name: byId.get(a.seller)!.name, city: byId.get(a.seller)!.city, state: byId.get(a.seller)!.state, id: a.id }));
    assert.ok(expected.length > 10);
    assert.deepEqual(sorted(run('q3')), sorted(expected));
  });

  it('q4: the last average per category equals the average of each auction’s highest valid bid', () => {
    const maxOf = new Map<number, number>();
    const auctionById = new Map<number, Auction>(auctions.map((a) => [a.id, a]));
    for (const b of bids) {
      const a = auctionById.get(b.auction);
      if (a === undefined || b.dateTime < a.dateTime || b.dateTime > a.expires) continue;
      maxOf.set(a.id, Math.max(maxOf.get(a.id) ?? -Infinity, b.price));
    }
    const perCategory = new Map<number, number[]>();
    for (const [id, m] of maxOf) {
      const c = auctionById.get(id)!.category;
      perCategory.set(c, [...(perCategory.get(c) ?? []), m]);
    }
    const last = new Map<number, number>();
    for (const r of run('q4') as { category: number; avg: number }[]) last.set(r.category, r.avg);
    assert.equal(last.size, perCategory.size);
    for (const [c, maxes] of perCategory) {
      const avg = maxes.reduce((s, x) => s + x, 0) / maxes.length;
      assert.ok(Math.abs(last.get(c)! - avg) < 1e-6 * avg, `category ${c}: ${last.get(c)} vs ${avg}`);
    }
  });

  it('q5: per 10 s window sliding by 2 s, the auctions with the most bids', () => {
    const counts = new Map<number, Map<number, number>>(); // window start -> auction -> count
    for (const b of bids) {
      const last = b.dateTime - (b.dateTime % 2_000);
      for (let s = last; s > b.dateTime - 10_000; s -= 2_000) {
        const m = counts.get(s) ?? new Map<number, number>();
        counts.set(s, m);
        m.set(b.auction, (m.get(b.auction) ?? 0) + 1);
      }
    }
    const expected: unknown[] = [];
    for (const m of counts.values()) {
      const max = Math.max(...m.values());
      for (const [auction, n] of m) if (n === max) expected.push({ auction, num: n });
    }
    assert.ok(expected.length >= 15);
    assert.deepEqual(sorted(run('q5')), sorted(expected));
  });

  it('q7: per 10 s tumbling window, the bids at the highest price', () => {
    const byWindow = new Map<number, Bid[]>();
    for (const b of bids) {
      const w = b.dateTime - (b.dateTime % 10_000);
      byWindow.set(w, [...(byWindow.get(w) ?? []), b]);
    }
    const expected = [...byWindow.values()].flatMap((bs) => {
      const max = Math.max(...bs.map((b) => b.price));
      return bs.filter((b) => b.price === max);
    });
    assert.ok(expected.length >= 3);
    assert.deepEqual(sorted(run('q7')), sorted(expected));
  });

  it('q8: people who created an auction in the 10 s window they registered in', () => {
    const win = (t: number) => t - (t % 10_000);
    const sellers = new Set(auctions.map((a) => `${a.seller}@${win(a.dateTime)}`));
    const expected = persons.filter((p) => sellers.has(`${p.id}@${win(p.dateTime)}`)).map((p) => ({ id: p.id, name: p.name, starttime: win(p.dateTime) }));
    assert.ok(expected.length > 10);
    assert.deepEqual(sorted(run('q8')), sorted(expected));
  });
});
