/**
 * Partition states (log start, high watermark) for Fetch, kept in memory. Fetch asks for every
 * partition of every request, and each commit wakes every long poll, so reading them from the
 * metadata store each time was a quarter of the agent's CPU at low latency settings.
 *
 * Commits made by this agent advance the cached high watermark directly; anything else that
 * moves a partition (DeleteRecords, retention, topic deletion) invalidates it, and a TTL bounds
 * how stale an entry can be for changes made elsewhere (another agent, in a cluster).
 */
import type { MetadataStore, PartitionState } from '../../core/metadata/metadata-store.js';

const TTL_MS = 1000;

interface Entry {
  state: PartitionState;
  atMs: number;
}

export class PartitionStates {
  private entries = new Map<string, Entry>();

  constructor(private readonly metadata: MetadataStore) {}

  private static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  async get(topic: string, partition: number): Promise<PartitionState | null> {
    const k = PartitionStates.key(topic, partition);
    const e = this.entries.get(k);
    if (e && Date.now() - e.atMs < TTL_MS) return e.state;
    const state = await this.metadata.getPartitionState(topic, partition);
    if (state) this.entries.set(k, { state: { ...state }, atMs: Date.now() });
    else this.entries.delete(k);
    return state;
  }

  /** A commit of this agent moved the high watermark. */
  advance(topic: string, partition: number, highWatermark: number): void {
    const e = this.entries.get(PartitionStates.key(topic, partition));
    if (e && highWatermark > e.state.highWatermark) e.state.highWatermark = highWatermark;
  }

  /** Forgets one partition, or every partition of a topic when partition is omitted. */
  invalidate(topic: string, partition?: number): void {
    if (partition !== undefined) {
      this.entries.delete(PartitionStates.key(topic, partition));
      return;
    }
    const prefix = `${topic}\u0000`;
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
