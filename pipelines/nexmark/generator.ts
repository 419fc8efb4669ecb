/**
 * The Nexmark event generator, following Beam's (and so Flink's) generator: event ids map to
 * person:auction:bid in the 1:3:46 proportion; ids, sellers, bidders and "hot" auctions,
 * sellers, bidders and channels are chosen as Beam's PersonGenerator, AuctionGenerator and
 * BidGenerator do; each event's randomness is seeded by its id, so the stream is deterministic.
 * Event time advances by 1e6 / eventsPerSecond µs per event (Flink's suite runs at 10M/s).
 *
 * Random strings are slices of a fixed pseudo-random text at random offsets: same lengths and
 * distributions as Beam's char-by-char strings, at a fraction of the cost (V8 slices share the
 * text), so the generator does not dominate the queries it feeds.
 */
import type { Auction, Bid, NexmarkEvent, Person } from './model.js';

export interface GeneratorConfig {
  /** Event-time rate: events per second of event time. Default 10 000 000 (Flink's suite). */
  eventsPerSecond?: number;
  /** Event time of the first event. Default 2024-01-01T00:00:00Z. */
  baseTimeMs?: number;
  firstEventId?: number;
  numActivePeople?: number;
  numInFlightAuctions?: number;
  avgPersonByteSize?: number;
  avgAuctionByteSize?: number;
  avgBidByteSize?: number;
  hotAuctionRatio?: number;
  hotSellersRatio?: number;
  hotBiddersRatio?: number;
}

const PERSON_PROPORTION = 1;
const AUCTION_PROPORTION = 3;
const BID_PROPORTION = 46;
const TOTAL_PROPORTION = PERSON_PROPORTION + AUCTION_PROPORTION + BID_PROPORTION;
export const FIRST_PERSON_ID = 1000;
export const FIRST_AUCTION_ID = 1000;
export const FIRST_CATEGORY_ID = 10;
const NUM_CATEGORIES = 5;
const PERSON_ID_LEAD = 10;
const AUCTION_ID_LEAD = 10;
const HOT_AUCTION_RATIO = 100;
const HOT_SELLER_RATIO = 100;
const HOT_BIDDER_RATIO = 100;
const HOT_CHANNELS_RATIO = 2;
const CHANNELS_NUMBER = 10_000;

const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter'];
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris'];
const US_STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'];
const US_CITIES = ['Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent', 'Cheyenne'];
const HOT_CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'];
const HOT_URLS = HOT_CHANNELS.map((c) => `https://www.nexmark.com/${c.toLowerCase()}/item.htm?query=1`);

/** Per-event PRNG (mulberry32), seeded by the event id like Beam's `new Random(eventId)`. */
class Rnd {
  private a = 0;
  seed(s: number): void {
    // Mix the id so neighbouring ids give unrelated streams.
    this.a = Math.imul(s ^ 0x5bd1e995, 0x9e3779b1) ^ (s / 4294967296);
  }
  next(): number {
    let t = (this.a = (this.a + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

const TEXT_LENGTH = 1 << 16;
const TEXT = ((): string => {
  const r = new Rnd();
  r.seed(42);
  const chars = 'abcdefghijklmnopqrstuvwxyz abcdefghijklmnopqrstuvwxyz';
  let s = '';
  for (let i = 0; i < TEXT_LENGTH + 1024; i++) s += chars[r.int(chars.length)];
  return s;
})();

export class NexmarkGenerator {
  private readonly rnd = new Rnd();
  private readonly baseTimeMs: number;
  private readonly delayMs: number;
  private readonly cfg: Required<GeneratorConfig>;
  private eventsCount = 0;

  constructor(config: GeneratorConfig = {}) {
    this.cfg = {
      eventsPerSecond: config.eventsPerSecond ?? 10_000_000,
      baseTimeMs: config.baseTimeMs ?? Date.UTC(2024, 0, 1),
      firstEventId: config.firstEventId ?? 0,
      numActivePeople: config.numActivePeople ?? 1000,
      numInFlightAuctions: config.numInFlightAuctions ?? 100,
      avgPersonByteSize: config.avgPersonByteSize ?? 200,
      avgAuctionByteSize: config.avgAuctionByteSize ?? 500,
      avgBidByteSize: config.avgBidByteSize ?? 100,
      hotAuctionRatio: config.hotAuctionRatio ?? 2,
      hotSellersRatio: config.hotSellersRatio ?? 4,
      hotBiddersRatio: config.hotBiddersRatio ?? 4,
    };
    this.baseTimeMs = this.cfg.baseTimeMs;
    this.delayMs = 1000 / this.cfg.eventsPerSecond;
  }

  /** Events generated so far. */
  get count(): number {
    return this.eventsCount;
  }

  private timestampFor(eventNumber: number): number {
    return this.baseTimeMs + Math.floor(eventNumber * this.delayMs);
  }

  next(): NexmarkEvent {
    const n = this.eventsCount++;
    const id = this.cfg.firstEventId + n;
    const ts = this.timestampFor(n);
    this.rnd.seed(id);
    const rem = id % TOTAL_PROPORTION;
    if (rem < PERSON_PROPORTION) return { type: 'person', person: this.person(id, ts) };
    if (rem < PERSON_PROPORTION + AUCTION_PROPORTION) return { type: 'auction', auction: this.auction(n, id, ts) };
    return { type: 'bid', bid: this.bid(id, ts) };
  }

  private str(maxLength: number): string {
    const len = 3 + this.rnd.int(Math.max(maxLength - 3, 1));
    const at = this.rnd.int(TEXT_LENGTH);
    return TEXT.slice(at, at + len);
  }

  private extra(currentSize: number, desiredAverageSize: number): string {
    if (currentSize > desiredAverageSize) return '';
    const desired = desiredAverageSize - currentSize;
    const delta = Math.round(desired * 0.2);
    const len = desired - delta + this.rnd.int(2 * delta + 1);
    const at = this.rnd.int(TEXT_LENGTH);
    return TEXT.slice(at, at + Math.min(len, 1024));
  }

  private price(): number {
    return Math.round(Math.pow(10, this.rnd.next() * 6) * 100);
  }

  private static lastBase0PersonId(eventId: number): number {
    const epoch = Math.floor(eventId / TOTAL_PROPORTION);
    let offset = eventId % TOTAL_PROPORTION;
    if (offset >= PERSON_PROPORTION) offset = PERSON_PROPORTION - 1;
    return epoch * PERSON_PROPORTION + offset;
  }

  private static lastBase0AuctionId(eventId: number): number {
    let epoch = Math.floor(eventId / TOTAL_PROPORTION);
    let offset = eventId % TOTAL_PROPORTION;
    if (offset < PERSON_PROPORTION) {
      epoch--;
      offset = AUCTION_PROPORTION - 1;
    } else if (offset >= PERSON_PROPORTION + AUCTION_PROPORTION) offset = AUCTION_PROPORTION - 1;
    else offset -= PERSON_PROPORTION;
    return epoch * AUCTION_PROPORTION + offset;
  }

  private nextBase0PersonId(eventId: number): number {
    const numPeople = NexmarkGenerator.lastBase0PersonId(eventId) + 1;
    const active = Math.min(numPeople, this.cfg.numActivePeople);
    return numPeople - active + this.rnd.int(active + PERSON_ID_LEAD);
  }

  private nextBase0AuctionId(eventId: number): number {
    const maxAuction = NexmarkGenerator.lastBase0AuctionId(eventId);
    const minAuction = Math.max(maxAuction - this.cfg.numInFlightAuctions, 0);
    return minAuction + this.rnd.int(maxAuction - minAuction + 1 + AUCTION_ID_LEAD);
  }

  private person(id: number, ts: number): Person {
    const name = `${FIRST_NAMES[this.rnd.int(FIRST_NAMES.length)]} ${LAST_NAMES[this.rnd.int(LAST_NAMES.length)]}`;
    const emailAddress = `${this.str(7)}@${this.str(5)}.com`;
    const creditCard = `${1000 + this.rnd.int(9000)} ${1000 + this.rnd.int(9000)} ${1000 + this.rnd.int(9000)} ${1000 + this.rnd.int(9000)}`;
    const city = US_CITIES[this.rnd.int(US_CITIES.length)]!;
    const state = US_STATES[this.rnd.int(US_STATES.length)]!;
    const size = 8 + name.length + emailAddress.length + creditCard.length + city.length + state.length;
    return { id: NexmarkGenerator.lastBase0PersonId(id) + FIRST_PERSON_ID, name, emailAddress, creditCard, city, state, dateTime: ts, extra: this.extra(size, this.cfg.avgPersonByteSize) };
  }

  private auction(eventNumber: number, id: number, ts: number): Auction {
    let seller: number;
    if (this.rnd.int(this.cfg.hotSellersRatio) > 0) seller = Math.floor(NexmarkGenerator.lastBase0PersonId(id) / HOT_SELLER_RATIO) * HOT_SELLER_RATIO;
    else seller = this.nextBase0PersonId(id);
    const category = FIRST_CATEGORY_ID + this.rnd.int(NUM_CATEGORIES);
    const initialBid = this.price();
    // Auctions last about as long as it takes numInFlightAuctions more auctions to start, times 2.
    const eventsForAuctions = Math.floor((this.cfg.numInFlightAuctions * TOTAL_PROPORTION) / AUCTION_PROPORTION);
    const horizonMs = this.timestampFor(eventNumber + eventsForAuctions) - ts;
    const expires = ts + 1 + this.rnd.int(Math.max(horizonMs * 2, 1));
    const itemName = this.str(20);
    const description = this.str(100);
    const reserve = initialBid + this.price();
    const size = 8 + itemName.length + description.length + 8 + 8 + 8 + 8 + 8;
    return {
      id: NexmarkGenerator.lastBase0AuctionId(id) + FIRST_AUCTION_ID,
      itemName,
      description,
      initialBid,
      reserve,
      dateTime: ts,
      expires,
      seller: seller + FIRST_PERSON_ID,
      category,
      extra: this.extra(size, this.cfg.avgAuctionByteSize),
    };
  }

  private bid(id: number, ts: number): Bid {
    let auction: number;
    if (this.rnd.int(this.cfg.hotAuctionRatio) > 0) auction = Math.floor(NexmarkGenerator.lastBase0AuctionId(id) / HOT_AUCTION_RATIO) * HOT_AUCTION_RATIO;
    else auction = this.nextBase0AuctionId(id);
    let bidder: number;
    if (this.rnd.int(this.cfg.hotBiddersRatio) > 0) bidder = Math.floor(NexmarkGenerator.lastBase0PersonId(id) / HOT_BIDDER_RATIO) * HOT_BIDDER_RATIO + 1;
    else bidder = this.nextBase0PersonId(id);
    const price = this.price();
    let channel: string;
    let url: string;
    if (this.rnd.int(HOT_CHANNELS_RATIO) > 0) {
      const i = this.rnd.int(HOT_CHANNELS.length);
      channel = HOT_CHANNELS[i]!;
      url = HOT_URLS[i]!;
    } else {
      const c = this.rnd.int(CHANNELS_NUMBER);
      channel = `channel-${c}`;
      url = `https://www.nexmark.com/${this.str(5)}/${this.str(5)}/${this.str(5)}/item.htm?query=1&channel_id=${c}`;
    }
    return { auction: auction + FIRST_AUCTION_ID, bidder: bidder + FIRST_PERSON_ID, price, channel, url, dateTime: ts, extra: this.extra(32, this.cfg.avgBidByteSize) };
  }
}
