/**
 * Weir pipelines: the public API.
 *
 * Definition: pipeline, fromTopic, fromTopics, toTopic, customSink, serdes.
 * Operators: mapValue, flatMapValue, selectKey, branch, window + assigners (tumbling, hopping,
 * sliding, session) + aggregates (count, sum, min, max, reduce, aggregate), dedupe, joins.
 * Runtimes: createTask (contracts.ts CreateTask), MemoryTable, serdesFor, pipelinesOf.
 * Testing: TestDriver.
 */
export type * from './core/contracts.js';
export { WATERMARK_HEADER } from './core/contracts.js';
export { encodeWatermarkMark, decodeWatermarkMark, watermarkMarkRecord } from './task/watermark-marks.js';
export * as serdes from './serdes/index.js';
export { pipeline, Pipeline, PipelineStart, StageBuilder, isPipeline, type KeyByOptions } from './define/pipeline.js';
export { fromTopic, fromTopics, serdesFor, type SourceOptions, type TopicsRec } from './define/source.js';
export { toTopic, customSink, type ToTopicOptions, type TopicSink } from './define/sink.js';
export { pipelinesOf } from './define/load.js';
export { createTask, DEFAULT_IDLE_TIMEOUT_MS } from './task/task.js';
export { currentContext } from './task/current-context.js';
export { MemoryTable } from './task/table.js';
export { canonicalKey } from './task/canonical-key.js';
export { mapValue } from './operators/map-value.js';
export { flatMapValue } from './operators/flat-map-value.js';
export { selectKey } from './operators/select-key.js';
export { branch } from './operators/branch.js';
export { TestDriver, type TestDriverOptions, type TestRecord, type DriverSnapshot } from './testing/test-driver.js';
export { murmur2, partitionForKey } from './testing/murmur2.js';
export { window, type WindowOptions } from './operators/window.js';
export type { WindowSpec } from './operators/window-spec.js';
export { tumbling } from './operators/tumbling.js';
export { hopping } from './operators/hopping.js';
export { session } from './operators/session.js';
export { sliding } from './operators/sliding.js';
export type { Aggregator } from './operators/aggregator.js';
export { count } from './operators/count.js';
export { sum } from './operators/sum.js';
export { min } from './operators/min.js';
export { max } from './operators/max.js';
export { reduce } from './operators/reduce.js';
export { aggregate } from './operators/aggregate.js';
export { dedupe, type DedupeOptions } from './operators/dedupe.js';
export { intervalJoin, type IntervalJoinOptions } from './operators/interval-join.js';
export { windowJoin, type WindowJoinOptions } from './operators/window-join.js';
export { joinTable, table, type JoinTableOptions } from './operators/join-table.js';
export { keyedProcess, type KeyState, type KeyedProcessOptions } from './operators/keyed-process.js';
export { aggregateByKey } from './operators/aggregate-by-key.js';
export * as nexmark from './nexmark/index.js';
export { OperatorTestContext } from './testing/operator-context.js';
