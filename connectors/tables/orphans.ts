/**
 * Deletes table files that were written but never committed: a sync killed between its PUT and
 * its manifest commit leaves one, and if the range is later planned differently (another last
 * offset) nobody overwrites it. Such a file is an orphan once its whole offset range is below the
 * partition's committed next offset and the manifest neither holds it nor retired it: no commit
 * can ever take it then (appends commit only at the next offset).
 *
 * A merge writes its output (also below the next offset) before its commit, possibly in another
 * process: an orphan is deleted only after it has been seen as one for graceMs. The object stores
 * give no modification time, so the grace counts from when this process first saw it (a sync that
 * restarts starts counting again: slower to clean, never unsafe).
 */
import { parseTableFileKey, tableTopicPrefix } from '../../core/storage/paths.js';
import type { TableContext } from './table-context.js';

const DEAD_LETTER_KEY = /\/_dead-letter\/(\d+)-(\d+)-(\d+)\.jsonl$/;

/** The partition and offset range a table object key stands for, or null (not a table file). */
function rangeOf(key: string): { partition: number; firstOffset: number; lastOffset: number } | null {
  const parsed = parseTableFileKey(key);
  if (parsed !== null) return parsed;
  const m = DEAD_LETTER_KEY.exec(key);
  return m === null ? null : { partition: Number(m[1]), firstOffset: Number(m[2]), lastOffset: Number(m[3]) };
}

export class OrphanSweeper {
  /** key → when this process first saw it as an orphan. */
  private readonly firstSeen = new Map<string, number>();

  constructor(private readonly ctx: TableContext, private readonly graceMs: number) {}

  /** Lists the topic's table folder once and deletes the orphans past their grace. Returns how many. */
  async sweep(topic: string, nowMs: number): Promise<number> {
    const state = await this.ctx.manifest.getTable(topic);
    if (state === null) return 0;
    const known = new Set([...state.files.map((f) => f.key), ...state.retired.map((r) => r.key)]);
    const prefix = tableTopicPrefix(topic);
    const candidates: string[] = [];
    for await (const o of this.ctx.objects.list(prefix)) {
      if (known.has(o.key)) continue;
      const r = rangeOf(o.key);
      if (r === null) continue;
      const next = state.nextOffsets.get(r.partition);
      // At or past the next offset it may be a commit in flight (or the rewrite of one): keep it.
      if (next === undefined || r.lastOffset >= next) continue;
      candidates.push(o.key);
    }
    const live = new Set(candidates);
    for (const k of this.firstSeen.keys()) if (k.startsWith(prefix) && !live.has(k)) this.firstSeen.delete(k);
    let deleted = 0;
    for (const key of candidates) {
      const seen = this.firstSeen.get(key) ?? nowMs;
      this.firstSeen.set(key, seen);
      if (nowMs - seen < this.graceMs) continue;
      // Read the manifest again right before deleting: a merge may have committed it meanwhile.
      const again = await this.ctx.manifest.getTable(topic);
      if (again === null || again.files.some((f) => f.key === key) || again.retired.some((r) => r.key === key)) continue;
      await this.ctx.objects.delete(key);
      this.firstSeen.delete(key);
      deleted++;
      this.ctx.log('info', `deleted ${key}: written but never committed`);
    }
    return deleted;
  }
}
