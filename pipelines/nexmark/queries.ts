/**
 * Nexmark queries q0-q5, q7, q8 written with Weir's API, with the semantics of Flink's Nexmark
 * suite (flink-nexmark's SQL). Each builds a pipeline from a source of NexmarkEvent (default:
 * the `nexmark` topic, JSON, event time = dateTime, 4 s out of orderness as Flink's DDL) to the
 * given sink, so the same definitions run in the benchmark (in process) and against an agent.
 */
import { filter, type OperatorFunction } from 'rxjs';
import type { Rec, SinkSpec, SourceSpec, WindowResult } from '../core/contracts.js';
import { pipeline, type Pipeline } from '../define/pipeline.js';
import { fromTopic } from '../define/source.js';
import { aggregate } from '../operators/aggregate.js';
import { aggregateByKey } from '../operators/aggregate-by-key.js';
import { count } from '../operators/count.js';
import { flatMapValue } from '../operators/flat-map-value.js';
import { hopping } from '../operators/hopping.js';
import { keyedProcess } from '../operators/keyed-process.js';
import { mapValue } from '../operators/map-value.js';
import { tumbling } from '../operators/tumbling.js';
import { window } from '../operators/window.js';
import * as serdes from '../serdes/index.js';
import { eventTime, type Auction, type Bid, type NexmarkEvent, type Person } from './model.js';

export type NexmarkQuery = 'q0' | 'q1' | 'q2' | 'q3' | 'q4' | 'q5' | 'q7' | 'q8';
export const NEXMARK_QUERIES: readonly NexmarkQuery[] = ['q0', 'q1', 'q2', 'q3', 'q4', 'q5', 'q7', 'q8'];

export interface NexmarkOptions {
  sink: SinkSpec;
  source?: SourceSpec<unknown, NexmarkEvent>;
  /** Partitions of repartition topics; default: as many as the source. */
  partitions?: number;
  /** Pipeline name; default `nexmark-<query>`. */
  name?: string;
}

type Ev = Rec<unknown, NexmarkEvent>;

export function nexmarkSource(topic = 'nexmark'): SourceSpec<string, NexmarkEvent> {
  return fromTopic(topic, { key: serdes.string(), value: serdes.json<NexmarkEvent>(), eventTime: (r) => eventTime(r.value), outOfOrdernessMs: 4_000 });
}

const bids: OperatorFunction<Ev, Rec<unknown, Bid>> = (s) =>
  s.pipe(
    filter((r: Ev) => r.value.type === 'bid'),
    mapValue((e: NexmarkEvent) => (e as { bid: Bid }).bid),
  );

const numKey = serdes.json<number>();
const events = serdes.json<NexmarkEvent>();

function start(q: NexmarkQuery, o: NexmarkOptions) {
  return pipeline(o.name ?? `nexmark-${q}`).from((o.source ?? nexmarkSource()) as SourceSpec<unknown, NexmarkEvent>);
}

function part(o: NexmarkOptions): { partitions?: number } {
  return o.partitions !== undefined ? { partitions: o.partitions } : {};
}

/** q0: pass-through (the cost of reading and writing). */
function q0(o: NexmarkOptions): Pipeline {
  return start('q0', o).pipe(bids).to(o.sink);
}

/** q1: currency conversion, dollars to euros. */
function q1(o: NexmarkOptions): Pipeline {
  return start('q1', o)
    .pipe(
      bids,
      mapValue((b: Bid) => ({ auction: b.auction, bidder: b.bidder, price: 0.908 * b.price, dateTime: b.dateTime, extra: b.extra })),
    )
    .to(o.sink);
}

/** q2: selection: bids on every 123rd auction. */
function q2(o: NexmarkOptions): Pipeline {
  return start('q2', o)
    .pipe(
      bids,
      filter((r: Rec<unknown, Bid>) => r.value.auction % 123 === 0),
      mapValue((b: Bid) => ({ auction: b.auction, price: b.price })),
    )
    .to(o.sink);
}

/** q3: local item suggestion: sellers in OR, ID or CA with auctions in category 10 (a regular join). */
function q3(o: NexmarkOptions): Pipeline {
  interface Q3State {
    p: { name: string; city: string; state: string } | null;
    a: number[];
  }
  return start('q3', o)
    .pipe(
      filter(
        (r: Ev) =>
          (r.value.type === 'auction' && r.value.auction.category === 10) ||
          (r.value.type === 'person' && (r.value.person.state === 'OR' || r.value.person.state === 'ID' || r.value.person.state === 'CA')),
      ),
    )
    .keyBy((r) => (r.value.type === 'person' ? r.value.person.id : (r.value as { auction: Auction }).auction.seller), { key: numKey, value: events, ...part(o) })
    .pipe(
      // An unwindowed inner join keyed by person id: a person's row is kept, auctions seen before
      // their seller wait for it (Flink's regular join keeps both sides the same way).
      keyedProcess<Rec<number, NexmarkEvent>, Q3State, { name: string; city: string; state: string; id: number }>((r, state, emit) => {
        const s = state.get() ?? { p: null, a: [] };
        const e = r.value;
        if (e.type === 'person') {
          s.p = { name: e.person.name, city: e.person.city, state: e.person.state };
          for (const id of s.a) emit({ ...s.p, id });
          s.a = [];
        } else if (e.type === 'auction') {
          if (s.p !== null) emit({ ...s.p, id: e.auction.id });
          else s.a.push(e.auction.id);
        }
        state.set(s);
      }),
    )
    .to(o.sink);
}

/** q4: average closing price per category (a join, then updating aggregates with retractions). */
function q4(o: NexmarkOptions): Pipeline {
  interface AuctionState {
    c: number; // category, -1 until the auction is seen
    s: number;
    x: number;
    m: number | null; // highest valid bid so far
    b: [number, number][]; // bids (price, time) that arrived before their auction
  }
  interface MaxChange {
    category: number;
    prev: number | null;
    next: number;
  }
  return start('q4', o)
    .pipe(filter((r: Ev) => r.value.type === 'auction' || r.value.type === 'bid'))
    .keyBy((r) => (r.value.type === 'bid' ? r.value.bid.auction : (r.value as { auction: Auction }).auction.id), { key: numKey, value: events, ...part(o) })
    .pipe(
      keyedProcess<Rec<number, NexmarkEvent>, AuctionState, MaxChange>((r, state, emit) => {
        const e = r.value;
        let s = state.get();
        if (s === undefined) s = { c: -1, s: 0, x: 0, m: null, b: [] };
        const offer = (price: number, t: number): void => {
          // B.dateTime BETWEEN A.dateTime AND A.expires; MAX(price) per auction, emitted as a change.
          if (t < s!.s || t > s!.x) return;
          if (s!.m === null || price > s!.m) {
            emit({ category: s!.c, prev: s!.m, next: price });
            s!.m = price;
          }
        };
        if (e.type === 'auction') {
          s.c = e.auction.category;
          s.s = e.auction.dateTime;
          s.x = e.auction.expires;
          for (const [p, t] of s.b) offer(p, t);
          s.b = [];
        } else if (e.type === 'bid') {
          if (s.c === -1) s.b.push([e.bid.price, e.bid.dateTime]);
          else offer(e.bid.price, e.bid.dateTime);
        }
        state.set(s);
      }),
    )
    .keyBy((r) => r.value.category, { key: numKey, value: serdes.json<MaxChange>(), ...part(o) })
    .pipe(
      aggregateByKey(
        aggregate<Rec<number, MaxChange>, { sum: number; n: number }, number>({
          init: () => ({ sum: 0, n: 0 }),
          add: (a, r) => {
            // A new max retracts the auction's previous max from its category's average.
            a.sum += r.value.next - (r.value.prev ?? 0);
            if (r.value.prev === null) a.n++;
            return a;
          },
          result: (a) => a.sum / a.n,
        }),
      ),
      mapValue((avg: number, r: Rec<number, number>) => ({ category: r.key, avg })),
    )
    .to(o.sink);
}

/** q5: hot items: the auctions with the most bids in each 10 s window sliding by 2 s. */
function q5(o: NexmarkOptions): Pipeline {
  interface Hot {
    max: number;
    auctions: number[];
  }
  return start('q5', o)
    .pipe(bids)
    .keyBy((r) => r.value.auction, { key: numKey, value: serdes.json<Bid>(), ...part(o) })
    .pipe(
      window(hopping({ sizeMs: 10_000, advanceMs: 2_000 }), count()),
      mapValue((w: WindowResult<number>, r: Rec<number, WindowResult<number>>) => ({ auction: r.key, end: w.end, num: w.value })),
    )
    .keyBy((r) => r.value.end, { key: numKey, value: serdes.json<{ auction: number; end: number; num: number }>(), ...part(o) })
    .pipe(
      // Every count of one hop window is stamped end - 1, so it lands in the 2 s tumbling window
      // ending with it: that window sees exactly the counts of one hop window.
      window(
        tumbling({ sizeMs: 2_000 }),
        aggregate<Rec<number, { auction: number; num: number }>, Hot>({
          init: () => ({ max: 0, auctions: [] }),
          add: (a, r) => {
            if (r.value.num > a.max) {
              a.max = r.value.num;
              a.auctions = [r.value.auction];
            } else if (r.value.num === a.max) a.auctions.push(r.value.auction);
            return a;
          },
        }),
      ),
      flatMapValue((w: WindowResult<Hot>) => w.value.auctions.map((auction) => ({ auction, num: w.value.max }))),
    )
    .to(o.sink);
}

/** q7: highest bid: the bids with the highest price in each 10 s tumbling window. */
function q7(o: NexmarkOptions): Pipeline {
  interface Top {
    p: number;
    bids: Bid[];
  }
  return start('q7', o)
    .pipe(bids)
    .keyBy(() => 0, { key: numKey, value: serdes.json<Bid>(), partitions: 1 })
    .pipe(
      // Flink joins every bid with its window's max price; keeping only the bids at the running
      // max gives the same rows (a bid below the max can never join).
      window(
        tumbling({ sizeMs: 10_000 }),
        aggregate<Rec<number, Bid>, Top>({
          init: () => ({ p: -1, bids: [] }),
          add: (a, r) => {
            if (r.value.price > a.p) {
              a.p = r.value.price;
              a.bids = [r.value];
            } else if (r.value.price === a.p) a.bids.push(r.value);
            return a;
          },
        }),
      ),
      flatMapValue((w: WindowResult<Top>) => w.value.bids),
    )
    .to(o.sink);
}

/** q8: new users: people who created an auction in the same 10 s window as they registered. */
function q8(o: NexmarkOptions): Pipeline {
  interface Seen {
    name: string | null;
    auction: boolean;
  }
  return start('q8', o)
    .pipe(filter((r: Ev) => r.value.type === 'person' || r.value.type === 'auction'))
    .keyBy((r) => (r.value.type === 'person' ? r.value.person.id : (r.value as { auction: Auction }).auction.seller), { key: numKey, value: events, ...part(o) })
    .pipe(
      window(
        tumbling({ sizeMs: 10_000 }),
        aggregate<Rec<number, NexmarkEvent>, Seen>({
          init: () => ({ name: null, auction: false }),
          add: (a, r) => {
            if (r.value.type === 'person') a.name = (r.value.person as Person).name;
            else a.auction = true;
            return a;
          },
        }),
      ),
      filter((r: Rec<number, WindowResult<Seen>>) => r.value.value.name !== null && r.value.value.auction),
      mapValue((w: WindowResult<Seen>, r: Rec<number, WindowResult<Seen>>) => ({ id: r.key, name: w.value.name!, starttime: w.start })),
    )
    .to(o.sink);
}

const builders: Record<NexmarkQuery, (o: NexmarkOptions) => Pipeline> = { q0, q1, q2, q3, q4, q5, q7, q8 };

/** The pipeline of one Nexmark query. */
export function nexmarkQuery(query: NexmarkQuery, options: NexmarkOptions): Pipeline {
  const b = builders[query];
  if (b === undefined) throw new Error(`unknown Nexmark query ${JSON.stringify(query)}; known: ${NEXMARK_QUERIES.join(', ')}`);
  return b(options);
}
