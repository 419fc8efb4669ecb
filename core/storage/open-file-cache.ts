/**
 * A small LRU of open read-only file handles, for stores of immutable files: Fetch range-reads
 * the same flush objects over and over, and open + fstat + close per read cost more than the
 * read itself. A handle is closed only when no read is using it (reference counted), so
 * evicting or invalidating never pulls a handle out from under a read.
 *
 * Files are immutable while cached; whoever replaces or deletes one must call invalidate(path)
 * first, or reads would keep seeing the old inode.
 */
import { open, type FileHandle } from 'node:fs/promises';

interface Entry {
  file: FileHandle;
  sizeBytes: number;
  refs: number;
  dropped: boolean;
}

export interface OpenFile {
  file: FileHandle;
  sizeBytes: number;
  release(): Promise<void>;
}

export class OpenFileCache {
  private entries = new Map<string, Entry>();
  private opening = new Map<string, Promise<Entry>>();

  constructor(private readonly capacity: number) {}

  /** An open handle for path (opening it if needed); call release() when done reading. */
  async acquire(path: string): Promise<OpenFile> {
    let entry = this.entries.get(path);
    if (entry) {
      // Re-insert: Map order is the LRU order.
      this.entries.delete(path);
      this.entries.set(path, entry);
    } else {
      let p = this.opening.get(path);
      if (!p) {
        p = (async () => {
          const file = await open(path, 'r');
          try {
            const info = await file.stat();
            if (!info.isFile()) throw Object.assign(new Error(`${path} is not a file`), { code: 'ENOENT' });
            return { file, sizeBytes: info.size, refs: 0, dropped: false };
          } catch (e) {
            await file.close();
            throw e;
          }
        })().finally(() => this.opening.delete(path));
        this.opening.set(path, p);
      }
      entry = await p;
      if (!this.entries.has(path) && !entry.dropped) {
        this.entries.set(path, entry);
        this.evict();
      }
    }
    const e = entry;
    e.refs++;
    let released = false;
    return {
      file: e.file,
      sizeBytes: e.sizeBytes,
      release: async () => {
        if (released) return;
        released = true;
        e.refs--;
        if (e.dropped && e.refs === 0) await e.file.close().catch(() => undefined);
      },
    };
  }

  /** Forgets path: the next acquire opens the file anew. */
  async invalidate(path: string): Promise<void> {
    const e = this.entries.get(path);
    if (!e) return;
    this.entries.delete(path);
    await this.drop(e);
  }

  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => this.drop(e)));
  }

  private evict(): void {
    for (const [path, e] of this.entries) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(path);
      void this.drop(e);
    }
  }

  private async drop(e: Entry): Promise<void> {
    e.dropped = true;
    if (e.refs === 0) await e.file.close().catch(() => undefined);
  }
}
