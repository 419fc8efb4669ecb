/**
 * Fixture for pipelines-watermarks.test.ts (run by `weir run` from its compiled .js): events
 * keyed by `k`, repartitioned to 3 partitions, counted per 10 s event-time window. The test picks
 * keys so that almost every key hashes to repartition partition 0: the windows of the other
 * partitions can only close if watermarks cross the repartition topic.
 */
import { count, fromTopic, pipeline, serdes, toTopic, tumbling, window } from '../../pipelines/index.js';

export const SKEW_WINDOW_MS = 10_000;
export const SKEW_REPARTITIONS = 3;

export interface SkewEvent {
  k: string;
  t: number;
}

export default pipeline('wm-skew')
  .from(fromTopic('wm-events', { value: serdes.json<SkewEvent>(), eventTime: (r) => r.value.t, outOfOrdernessMs: 1_000, idleTimeoutMs: 5_000 }))
  .keyBy((r) => r.value.k, { key: serdes.string(), value: serdes.json<SkewEvent>(), partitions: SKEW_REPARTITIONS })
  .pipe(window(tumbling({ sizeMs: SKEW_WINDOW_MS }), count()))
  .to(toTopic('wm-counts', { key: serdes.string(), value: serdes.json() }));
