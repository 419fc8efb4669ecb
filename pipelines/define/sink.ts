/** Sinks: `toTopic('counts', { key, value })` and `customSink('name', (ctx) => writer)`. */
import { WeirError } from '../../core/errors.js';
import type { Serde, SinkSpec, SinkWriter } from '../core/contracts.js';
import { string } from '../serdes/string.js';
import { checkTopicName } from './source.js';

export interface ToTopicOptions<K, V> {
  key?: Serde<K>;
  value?: Serde<V>;
  /** The sink's name (metrics, the test driver); default: the topic. */
  name?: string;
}

/** A topic sink spec; `T` carries the record type it accepts, for `.to()` type checks. */
export type TopicSink<K, V> = Extract<SinkSpec, { kind: 'topic' }> & { readonly __accepts?: (k: K, v: V) => void };

/** A topic; keys and values are strings unless serdes are given. */
export function toTopic<K = string, V = string>(topic: string, options: ToTopicOptions<K, V> = {}): TopicSink<K, V> {
  checkTopicName(topic);
  return {
    kind: 'topic',
    topic,
    key: (options.key ?? string()) as Serde<unknown>,
    value: (options.value ?? string()) as Serde<unknown>,
    name: options.name ?? topic,
  };
}

/**
 * A custom sink: `create` is called once per task and returns its SinkWriter. write() must not
 * block (buffer, and send in the background); flush() resolves once everything written is
 * durable, because the checkpoint commits offsets only after every sink's flush.
 */
export function customSink(name: string, create: (ctx: { taskId: string }) => SinkWriter): SinkSpec {
  if (typeof name !== 'string' || name.length === 0) throw new WeirError('invalid_argument', 'customSink needs a non-empty name');
  return { kind: 'custom', name, create };
}
