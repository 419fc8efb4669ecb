/**
 * Task checkpoints in Weir's object store (fs or S3). A task's checkpoint is two objects: its
 * state snapshot (every named store's buffer, in one object) and then its manifest, one small
 * JSON object naming the snapshot and the source offsets the state is consistent with. The
 * manifest is the atomic commit point: an object PUT is atomic on every backend, it is written
 * only after the snapshot object is durable, and restore reads only manifests, so a crash at
 * any moment leaves either the previous checkpoint or the new one, never a mix.
 *
 * Keys (core/storage/paths.ts) carry the writer's lease fencing token before its sequence
 * number, so the newest checkpoint of the current holder sorts last; a stale holder that
 * writes late (paused past its lease) writes under a lower token and is never restored.
 * Old checkpoints are deleted after a newer manifest is durable (keepLast per task).
 */
import { WeirError } from '../../core/errors.js';
import type { ObjectStore } from '../../core/storage/object-store.js';
import { checkpointManifestKey, checkpointStateKey, parseCheckpointKey, taskCheckpointPrefix } from '../../core/storage/paths.js';
import type { TaskSnapshot } from '../core/contracts.js';

export interface InputOffset {
  topic: string;
  partition: number;
  /** The next offset to process: everything before it is reflected in the state. */
  offset: number;
}

export interface TaskManifest {
  version: 1;
  pipeline: string;
  taskId: string;
  stage: number;
  partition: number;
  token: number;
  sequence: number;
  /** Which worker checkpoint (barrier) of the writer this belongs to. */
  checkpointId: string;
  createdAtMs: number;
  offsets: InputOffset[];
  stateKey: string;
  stateBytes: number;
  /** The task's watermark at the barrier (informational). */
  watermarkMs: number | null;
  /** Next output sequence number per repartition sink (see topic-sink.ts). */
  sinkSequences: Record<string, number>;
  /** Per upstream task, the highest output sequence already applied from repartition inputs. */
  upstreamSeen: Record<string, number>;
}

/** Snapshot object layout: "WSNP" | u32 count | per store: u32 nameLen | name | u32 len | bytes. */
export function encodeSnapshot(s: TaskSnapshot): Buffer[] {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(8);
  head.write('WSNP', 0, 'latin1');
  head.writeUInt32BE(s.size, 4);
  parts.push(head);
  for (const [name, body] of s) {
    const n = Buffer.from(name, 'utf8');
    const h = Buffer.alloc(4 + n.length + 4);
    h.writeUInt32BE(n.length, 0);
    n.copy(h, 4);
    h.writeUInt32BE(body.length, 4 + n.length);
    parts.push(h, body);
  }
  return parts;
}

export function decodeSnapshot(b: Buffer, what: string): TaskSnapshot {
  const bad = (why: string): never => {
    throw new WeirError('corrupt', `checkpoint state ${what}: ${why}`);
  };
  if (b.length < 8 || b.toString('latin1', 0, 4) !== 'WSNP') bad('bad magic');
  const count = b.readUInt32BE(4);
  const out: TaskSnapshot = new Map();
  let at = 8;
  for (let i = 0; i < count; i++) {
    if (at + 4 > b.length) bad('truncated');
    const nl = b.readUInt32BE(at);
    if (at + 4 + nl + 4 > b.length) bad('truncated');
    const name = b.toString('utf8', at + 4, at + 4 + nl);
    const len = b.readUInt32BE(at + 4 + nl);
    const start = at + 8 + nl;
    if (start + len > b.length) bad('truncated');
    out.set(name, b.subarray(start, start + len));
    at = start + len;
  }
  if (at !== b.length) bad('trailing bytes');
  return out;
}

export class CheckpointStore {
  constructor(
    readonly store: ObjectStore,
    readonly pipeline: string,
    private readonly keepLast = 2,
  ) {}

  /** The newest manifest of the task, or null when it never checkpointed. */
  async latest(stage: number, partition: number): Promise<TaskManifest | null> {
    let last: string | null = null;
    for await (const o of this.store.list(taskCheckpointPrefix(this.pipeline, stage, partition))) {
      if (parseCheckpointKey(o.key)?.kind === 'manifest') last = o.key;
    }
    if (last === null) return null;
    const m = JSON.parse((await this.store.get(last)).toString('utf8')) as TaskManifest;
    if (m.version !== 1 || m.stage !== stage || m.partition !== partition) throw new WeirError('corrupt', `checkpoint manifest ${last} does not describe task s${stage}-p${partition}`);
    return m;
  }

  async loadState(m: TaskManifest): Promise<TaskSnapshot> {
    const b = await this.store.get(m.stateKey);
    if (b.length !== m.stateBytes) throw new WeirError('corrupt', `checkpoint state ${m.stateKey} has ${b.length} bytes, manifest says ${m.stateBytes}`);
    return decodeSnapshot(b, m.stateKey);
  }

  /** Writes state, then the manifest (the commit point); returns the manifest. */
  async write(t: Omit<TaskManifest, 'version' | 'pipeline' | 'stateKey' | 'stateBytes' | 'createdAtMs'>, snapshot: TaskSnapshot): Promise<TaskManifest> {
    const parts = { pipeline: this.pipeline, stage: t.stage, partition: t.partition, token: t.token, sequence: t.sequence };
    const stateKey = checkpointStateKey(parts);
    const body = encodeSnapshot(snapshot);
    const stateBytes = body.reduce((n, b) => n + b.length, 0);
    await this.store.put(stateKey, body);
    const m: TaskManifest = { version: 1, pipeline: this.pipeline, ...t, stateKey, stateBytes, createdAtMs: Date.now() };
    await this.store.put(checkpointManifestKey(parts), Buffer.from(JSON.stringify(m), 'utf8'));
    return m;
  }

  /** Deletes all but the newest keepLast checkpoints of the task (never the one just written). */
  async prune(stage: number, partition: number): Promise<void> {
    const manifests: string[] = [];
    const states: string[] = [];
    for await (const o of this.store.list(taskCheckpointPrefix(this.pipeline, stage, partition))) {
      const p = parseCheckpointKey(o.key);
      if (p?.kind === 'manifest') manifests.push(o.key);
      else if (p?.kind === 'state') states.push(o.key);
    }
    if (manifests.length <= this.keepLast) return;
    const keep = manifests.slice(-this.keepLast);
    const oldestKept = parseCheckpointKey(keep[0]!)!;
    const older = (k: string): boolean => {
      const p = parseCheckpointKey(k)!;
      return p.token < oldestKept.token || (p.token === oldestKept.token && p.sequence < oldestKept.sequence);
    };
    // Manifests first: a state object is never deleted while a manifest still names it.
    for (const k of manifests) if (older(k)) await this.store.delete(k);
    for (const k of states) if (older(k)) await this.store.delete(k);
  }
}
