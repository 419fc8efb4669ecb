/**
 * Sources: `fromTopic('clicks', {...})` for one topic (or several with the same serdes), and
 * `fromTopics({...})` for several topics with their own serdes, read co-partitioned by one task
 * (a stream-stream join's two sides; `rec.topic` tells them apart, and is typed so).
 */
import { WeirError } from '../../core/errors.js';
import type { Rec, Serde, SourceSpec, TopicSerdes } from '../core/contracts.js';
import { string } from '../serdes/string.js';

export interface SourceOptions<K, V> {
  /** Consumer group; default: the pipeline name. */
  group?: string;
  key?: Serde<K>;
  value?: Serde<V>;
  /** Event time from the record; default: the Kafka record timestamp. */
  eventTime?: (rec: Rec<K, V>) => number;
  /** Without a checkpoint or committed offset: 'earliest' (default), 'latest' or a timestamp. */
  startFrom?: 'earliest' | 'latest' | { timestampMs: number };
  /** Watermark = max event time seen - this. Default 0 (in-order input). */
  outOfOrdernessMs?: number;
  /** A partition silent for this long (processing time) stops holding the watermark back. Default 10 000. */
  idleTimeoutMs?: number;
}

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function checkTopicName(topic: string, what = 'topic'): void {
  if (typeof topic !== 'string' || !TOPIC_NAME.test(topic) || topic === '.' || topic === '..') {
    throw new WeirError('invalid_argument', `${what} name ${JSON.stringify(topic)} is not a valid Kafka topic name (1-249 of [a-zA-Z0-9._-])`);
  }
}

function checkNonNegative(name: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new WeirError('invalid_argument', `${name} must be a finite number >= 0, got ${v}`);
}

function commonOptions<K, V>(o: SourceOptions<K, V>): Omit<SourceSpec<K, V>, 'kind' | 'topics' | 'key' | 'value'> {
  checkNonNegative('outOfOrdernessMs', o.outOfOrdernessMs);
  checkNonNegative('idleTimeoutMs', o.idleTimeoutMs);
  if (o.startFrom !== undefined && o.startFrom !== 'earliest' && o.startFrom !== 'latest' && !(typeof o.startFrom === 'object' && Number.isFinite(o.startFrom.timestampMs))) {
    throw new WeirError('invalid_argument', `startFrom must be 'earliest', 'latest' or { timestampMs }, got ${JSON.stringify(o.startFrom)}`);
  }
  return {
    ...(o.group !== undefined ? { group: o.group } : {}),
    ...(o.eventTime !== undefined ? { eventTime: o.eventTime } : {}),
    ...(o.startFrom !== undefined ? { startFrom: o.startFrom } : {}),
    ...(o.outOfOrdernessMs !== undefined ? { outOfOrdernessMs: o.outOfOrdernessMs } : {}),
    ...(o.idleTimeoutMs !== undefined ? { idleTimeoutMs: o.idleTimeoutMs } : {}),
  };
}

/**
 * One topic (or several sharing serdes), keys and values strings unless serdes are given:
 * `fromTopic('clicks', { value: serdes.json<Click>(), eventTime: (r) => r.value.ts, outOfOrdernessMs: 5_000 })`.
 */
export function fromTopic<K = string, V = string>(topic: string | readonly string[], options: SourceOptions<K, V> = {}): SourceSpec<K, V> {
  const topics = typeof topic === 'string' ? [topic] : [...topic];
  if (topics.length === 0) throw new WeirError('invalid_argument', 'fromTopic needs at least one topic');
  for (const t of topics) checkTopicName(t);
  return {
    kind: 'topic',
    topics,
    key: options.key ?? (string() as unknown as Serde<K>),
    value: options.value ?? (string() as unknown as Serde<V>),
    ...commonOptions(options),
  };
}

/** The record type of a `fromTopics` source: a union discriminated by `topic`. */
export type TopicsRec<M extends Record<string, TopicSerdes>> = {
  [T in keyof M & string]: Rec<M[T] extends TopicSerdes<infer K, unknown> ? K : never, M[T] extends TopicSerdes<unknown, infer V> ? V : never> & { topic: T };
}[keyof M & string];

/**
 * Several topics with their own serdes, read co-partitioned by one task:
 * `fromTopics({ clicks: { key: serdes.string(), value: serdes.json<Click>() }, views: {...} })`.
 * Records are typed as a union discriminated by `rec.topic`.
 */
export function fromTopics<M extends Record<string, TopicSerdes>>(topics: M, options: Omit<SourceOptions<unknown, unknown>, 'key' | 'value' | 'eventTime'> & { eventTime?: (rec: TopicsRec<M>) => number } = {}): SourceSpec<unknown, unknown> & { readonly __rec?: TopicsRec<M> } {
  const names = Object.keys(topics);
  if (names.length === 0) throw new WeirError('invalid_argument', 'fromTopics needs at least one topic');
  for (const t of names) checkTopicName(t);
  const first = topics[names[0]!]!;
  return {
    kind: 'topic',
    topics: names,
    key: first.key,
    value: first.value,
    topicSerdes: topics,
    ...commonOptions(options as SourceOptions<unknown, unknown>),
  };
}

/** The serdes to decode a record of `topic` read by `source` (runtimes and the test driver use this). */
export function serdesFor(source: SourceSpec, topic: string): TopicSerdes {
  return source.topicSerdes?.[topic] ?? { key: source.key, value: source.value };
}

/** Every key and value serde the source reads with, over all its topics. */
export function allSerdesOf(source: SourceSpec): Serde<unknown>[] {
  return [source.key, source.value, ...Object.values(source.topicSerdes ?? {}).flatMap((s) => [s.key, s.value])] as Serde<unknown>[];
}
