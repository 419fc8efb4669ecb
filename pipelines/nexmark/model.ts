/**
 * Nexmark's data model, as in the Flink and Beam suites: an auction site's people, auctions and
 * bids. Times are ms since the epoch; prices in cents.
 */
export interface Person {
  id: number;
  name: string;
  emailAddress: string;
  creditCard: string;
  city: string;
  state: string;
  dateTime: number;
  extra: string;
}

export interface Auction {
  id: number;
  itemName: string;
  description: string;
  initialBid: number;
  reserve: number;
  dateTime: number;
  expires: number;
  seller: number;
  category: number;
  extra: string;
}

export interface Bid {
  auction: number;
  bidder: number;
  price: number;
  channel: string;
  url: string;
  dateTime: number;
  extra: string;
}

/** One event of the stream; exactly one of person, auction, bid is set (Flink's Event row). */
export type NexmarkEvent = { type: 'person'; person: Person } | { type: 'auction'; auction: Auction } | { type: 'bid'; bid: Bid };

export function eventTime(e: NexmarkEvent): number {
  return e.type === 'bid' ? e.bid.dateTime : e.type === 'auction' ? e.auction.dateTime : e.person.dateTime;
}
