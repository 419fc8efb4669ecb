/**
 * Time-based retention: every checkIntervalMs, each partition of a topic with cleanup.policy
 * containing "delete" and retention.ms >= 0 has its log start moved past the index entries
 * whose newest record is older than now - retention.ms. Like Kafka deleting whole segments, an
 * entry is dropped only when all of it is expired, so a consumer may still read a few records
 * older than the limit. The objects stay for garbage collection (their live chunk count drops).
 * Running it on several agents at once is harmless: deleteRecords never moves the start back.
 */
import type { MetadataStore } from '../core/metadata/metadata-store.js';
import type { LogLevel } from './agent-context.js';
import { topicConfigNumber, topicConfigValue } from './topic-configs.js';

export class RetentionJob {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly metadata: MetadataStore,
    private readonly checkIntervalMs: number,
    private readonly log: (level: LogLevel, msg: string) => void,
    /** Told about every partition whose log start moved (caches of partition state). */
    private readonly onMoved: (topic: string, partition: number) => void = () => undefined,
  ) {}

  start(): void {
    if (this.checkIntervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.running ??= this.runOnce()
        .then(() => undefined)
        .catch((e: unknown) => this.log('warn', `retention check failed: ${(e as Error).message}`))
        .finally(() => (this.running = null));
    }, this.checkIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass over every topic; returns how many partitions had their log start moved. */
  async runOnce(nowMs = Date.now()): Promise<number> {
    let moved = 0;
    for (const topic of await this.metadata.listTopics()) {
      if (!topicConfigValue(topic.configs, 'cleanup.policy').includes('delete')) continue;
      const retentionMs = topicConfigNumber(topic.configs, 'retention.ms');
      if (retentionMs < 0 || retentionMs === Infinity) continue;
      const cutoff = nowMs - retentionMs;
      for (let p = 0; p < topic.partitions; p++) {
        const state = await this.metadata.getPartitionState(topic.name, p);
        if (!state || state.logStartOffset >= state.highWatermark) continue;
        // The first entry holding anything at or after the cutoff is where the log must start.
        const keep = await this.metadata.findByTimestamp(topic.name, p, cutoff);
        const newStart = keep ? Math.max(keep.baseOffset, state.logStartOffset) : state.highWatermark;
        if (newStart > state.logStartOffset) {
          await this.metadata.deleteRecords(topic.name, p, newStart);
          this.onMoved(topic.name, p);
          moved++;
          this.log('debug', `retention: ${topic.name}-${p} log start ${state.logStartOffset} -> ${newStart}`);
        }
      }
    }
    return moved;
  }
}
