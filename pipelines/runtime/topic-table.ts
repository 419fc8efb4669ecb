/**
 * A table kept up to date from its topic (GlobalKTable semantics, contracts.ts TableView):
 * every partition read from the earliest offset, latest value per key, a null value deletes.
 * One per declared table per worker, shared by all its tasks. `ready()` resolves once the table
 * has caught up with the end offsets it saw at start, so a stream-table join never starts
 * against a half-loaded table; after that it follows the topic with long polls in the
 * background. Memory is the table's own (MemoryTable); the fetch is bounded per round.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Fetcher } from '../../core/client/fetcher.js';
import type { KafkaClient } from '../../core/client/kafka-client.js';
import type { TableSpec } from '../core/contracts.js';
import { MemoryTable } from '../task/table.js';

export class TopicTable extends MemoryTable {
  private readonly positions = new Map<number, number>();
  private running = true;
  private loop: Promise<void> | null = null;
  private caughtUp!: () => void;
  private failed!: (e: Error) => void;
  private readonly readyPromise = new Promise<void>((resolve, reject) => {
    this.caughtUp = resolve;
    this.failed = reject;
  });
  error: Error | null = null;

  constructor(
    readonly spec: TableSpec,
    private readonly client: KafkaClient,
    private readonly fetcher: Fetcher,
  ) {
    super();
    this.readyPromise.catch(() => {});
  }

  start(): Promise<void> {
    this.loop ??= this.run().catch((e: Error) => {
      this.error = e;
      this.failed(e);
    });
    return this.readyPromise;
  }

  ready(): Promise<void> {
    return this.readyPromise;
  }

  private async run(): Promise<void> {
    const { topic } = this.spec;
    const partitions = (await this.client.topic(topic)).partitions.map((p) => p.partition);
    const starts = await this.client.listOffsets(topic, partitions, 'earliest');
    const ends = await this.client.listOffsets(topic, partitions, 'latest');
    for (const p of partitions) this.positions.set(p, starts.get(p) ?? 0);
    const behind = (): boolean => partitions.some((p) => this.positions.get(p)! < (ends.get(p) ?? 0));
    if (!behind()) this.caughtUp();
    let ready = !behind();
    while (this.running) {
      const got = await this.fetcher.fetch([...this.positions].map(([partition, offset]) => ({ topic, partition, offset })), ready ? 500 : 0);
      for (const f of got) {
        if (f.error) throw f.error;
        if (f.outOfRange) {
          this.positions.set(f.partition, (await this.client.listOffsets(topic, [f.partition], 'earliest')).get(f.partition) ?? 0);
          continue;
        }
        for (const r of f.records) {
          const key = this.spec.key.deserialize(r.key);
          const value = r.value === null ? null : this.spec.value.deserialize(r.value);
          this.apply(key, value);
        }
        this.positions.set(f.partition, f.nextOffset);
      }
      if (!ready && !behind()) {
        ready = true;
        this.caughtUp();
      }
      if (got.length === 0 && !ready) await sleep(10);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
