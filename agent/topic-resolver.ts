/**
 * Looks topics up by name or id for handlers, and auto-creates them when the agent allows it.
 * The metadata store is the truth; this keeps a short-lived cache so hot paths (Produce, Fetch)
 * do not query the store per partition. Admin handlers invalidate it on every change they make,
 * which also tells the other agents (onChange; they forget() the topic), and the TTL bounds
 * staleness when that message is lost.
 */
import { isWeirError } from '../core/errors.js';
import type { MetadataStore, TopicInfo } from '../core/metadata/metadata-store.js';

const TTL_MS = 1000;

interface Cached {
  info: TopicInfo | null;
  atMs: number;
}

export class TopicResolver {
  private byName = new Map<string, Cached>();
  private byId = new Map<string, TopicInfo>();

  constructor(
    private readonly metadata: MetadataStore,
    private readonly autoCreate: { enabled: boolean; partitions: number },
    /** Called when this agent changed a topic (undefined: any topic), to tell other agents. */
    private readonly onChange: (name: string | undefined) => void = () => undefined,
  ) {}

  async get(name: string): Promise<TopicInfo | null> {
    const c = this.byName.get(name);
    if (c && Date.now() - c.atMs < TTL_MS) return c.info;
    const info = await this.metadata.getTopic(name);
    this.remember(name, info);
    return info;
  }

  /** Finds a topic by id (Fetch v13+, Metadata v10+, DeleteTopics v6+). */
  async getById(id: string): Promise<TopicInfo | null> {
    const hit = this.byId.get(id);
    if (hit) {
      const fresh = await this.get(hit.name);
      if (fresh?.id === id) return fresh;
    }
    // A miss or a stale id (the topic was deleted, maybe re-created under a new id): rebuild
    // the id map from the store so a dead id can never resolve to a live topic.
    this.byId.clear();
    for (const t of await this.metadata.listTopics()) this.remember(t.name, t);
    return this.byId.get(id) ?? null;
  }

  /** The topic, created with the default partition count if missing and auto-create is on. */
  async getOrCreate(name: string, allow = true): Promise<TopicInfo | null> {
    const info = await this.get(name);
    if (info || !allow || !this.autoCreate.enabled) return info;
    try {
      const created = await this.metadata.createTopic(name, this.autoCreate.partitions, {});
      this.remember(name, created);
      this.onChange(name);
      return created;
    } catch (e) {
      // Another request (or agent) created it first.
      if (isWeirError(e, 'already_exists')) {
        this.forget(name);
        return this.get(name);
      }
      throw e;
    }
  }

  /** After this agent changed the topic (or, without a name, any topic): forgets it here and tells other agents. */
  invalidate(name?: string): void {
    this.forget(name);
    this.onChange(name);
  }

  /** Forgets the cached topic (every topic without a name), e.g. when another agent changed it. */
  forget(name?: string): void {
    if (name === undefined) {
      this.byName.clear();
      this.byId.clear();
    } else this.byName.delete(name);
  }

  private remember(name: string, info: TopicInfo | null): void {
    this.byName.set(name, { info, atMs: Date.now() });
    if (info) this.byId.set(info.id, info);
  }
}
