import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { WeirError } from '../errors.js';
import { assertValidRange, clampRange } from './byte-range.js';
import { assertValidObjectKey, isValidKeySegment } from './object-key.js';
import { objectBodySize, type ByteRange, type ObjectBody, type ObjectInfo, type ObjectStore } from './object-store.js';
import { OpenFileCache, type OpenFile } from './open-file-cache.js';
import { Semaphore } from './semaphore.js';

export interface FsObjectStoreOptions {
  /** Upper bound on file handles this store holds open at once. */
  maxOpenFiles?: number;
}

/** Distinguishes this process's temp files from those a crashed earlier process left (pids repeat). */
const processNonce = randomBytes(6).toString('hex');

/** Temp files start with '.', which no valid key segment does, so they never collide or get listed. */
const tempPrefix = '.tmp-';

/**
 * The embedded ObjectStore: one file per object under `root`, the key's '/'-separated segments
 * being the path. A put is durable once it resolves: the bytes go to a temp file in the target
 * directory, are fsynced, renamed over the target (atomic: a reader sees the old or the new
 * object, never a torn one) and the directory is fsynced so the rename itself survives a crash.
 *
 * One thing a filesystem cannot do that S3 can: hold both "a" and "a/b". Keys from paths.ts never
 * collide like that; a put that would is rejected with 'invalid_argument'.
 */
export class FsObjectStore implements ObjectStore {
  readonly kind = 'fs';
  readonly root: string;
  private readonly handles: Semaphore;
  /** Objects are immutable, so read handles are kept open; put and delete invalidate. */
  private readonly openFiles: OpenFileCache;
  /** Directories this store created or saw; forgotten when a delete prunes directories. */
  private readonly knownDirs = new Set<string>();
  /** Temp names only need to be unique among this process's concurrent puts. */
  private tempCounter = 0;

  constructor(root: string, options: FsObjectStoreOptions = {}) {
    this.root = resolve(root);
    this.handles = new Semaphore(options.maxOpenFiles ?? 64);
    this.openFiles = new OpenFileCache(Math.max(1, Math.min(128, options.maxOpenFiles ?? 64)));
  }

  async put(key: string, body: ObjectBody): Promise<void> {
    assertValidObjectKey(key);
    const path = this.pathOf(key);
    const dir = dirname(path);
    await this.handles.run(async () => {
      // A concurrent delete may prune the (then empty) directory between our mkdir and our open;
      // recreating it and retrying is all it takes.
      for (let attempt = 1; ; attempt++) {
        // Directories are created once per hour of keys; a retry (a delete pruned it) re-checks.
        if (attempt > 1 || !this.knownDirs.has(dir)) {
          await this.ensureDir(dir, key);
          if (this.knownDirs.size > 10_000) this.knownDirs.clear();
          this.knownDirs.add(dir);
        }
        const temp = join(dir, `${tempPrefix}${processNonce}-${this.tempCounter++}`);
        let file: FileHandle;
        try {
          file = await open(temp, 'wx');
        } catch (e) {
          if (errnoCode(e) === 'ENOENT' && attempt < 5) continue;
          throw fsError(e, key, 'put');
        }
        try {
          try {
            await writeAll(file, body);
            await file.sync();
          } finally {
            await file.close();
          }
          await this.openFiles.invalidate(path);
          await rename(temp, path);
          // Again after: a read between the two may have cached the replaced file.
          await this.openFiles.invalidate(path);
        } catch (e) {
          await unlink(temp).catch(() => undefined);
          throw fsError(e, key, 'put');
        }
        await fsyncDir(dir).catch((e: unknown) => {
          throw fsError(e, key, 'put');
        });
        return;
      }
    });
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    assertValidObjectKey(key);
    if (range !== undefined) assertValidRange(range);
    const path = this.pathOf(key);
    return this.handles.run(async () => {
      let opened: OpenFile;
      try {
        opened = await this.openFiles.acquire(path);
      } catch (e) {
        throw isAbsent(e) ? notFound(key) : fsError(e, key, 'get');
      }
      try {
        const { start, end } = clampRange(range, opened.sizeBytes);
        // Read exactly the range: Fetch reads a few KiB out of multi-MiB objects.
        const out = Buffer.allocUnsafe(end - start);
        let filled = 0;
        while (filled < out.length) {
          const { bytesRead } = await opened.file.read(out, filled, out.length - filled, start + filled);
          if (bytesRead === 0) throw new WeirError('corrupt', `object ${key} ended early while reading`);
          filled += bytesRead;
        }
        return out;
      } catch (e) {
        throw fsError(e, key, 'get');
      } finally {
        await opened.release();
      }
    });
  }

  async head(key: string): Promise<ObjectInfo | null> {
    assertValidObjectKey(key);
    try {
      const info = await stat(this.pathOf(key));
      return info.isFile() ? { key, sizeBytes: info.size } : null;
    } catch (e) {
      if (isAbsent(e)) return null;
      throw fsError(e, key, 'head');
    }
  }

  async delete(key: string): Promise<void> {
    assertValidObjectKey(key);
    const path = this.pathOf(key);
    try {
      await this.openFiles.invalidate(path);
      await unlink(path);
      await this.openFiles.invalidate(path);
    } catch (e) {
      if (isAbsent(e)) return;
      // Unlinking a directory fails (EISDIR on Linux, EPERM on macOS): the key names a
      // directory, i.e. there is no such object. A real permission problem must still surface.
      const isDir = await stat(path).then((info) => info.isDirectory(), () => false);
      if (isDir) return;
      throw fsError(e, key, 'delete');
    }
    await this.pruneEmptyDirs(dirname(path));
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Descend straight to the directory the prefix names; its last (partial) segment filters names there.
    const slash = prefix.lastIndexOf('/');
    const namePrefix = prefix.slice(slash + 1);
    if (slash < 0) {
      yield* this.walk(this.root, '', namePrefix);
      return;
    }
    // A directory part no valid key can have (empty segment, '..') matches nothing, and must not be walked.
    const dirSegments = prefix.slice(0, slash).split('/');
    if (!dirSegments.every(isValidKeySegment)) return;
    yield* this.walk(join(this.root, ...dirSegments), prefix.slice(0, slash + 1), namePrefix);
  }

  async close(): Promise<void> {
    await this.openFiles.closeAll();
  }

  private pathOf(key: string): string {
    // Safe because assertValidObjectKey rejected '..', '.', empty segments and leading '/'.
    return join(this.root, ...key.split('/'));
  }

  private async *walk(dirPath: string, keyPrefix: string, namePrefix: string): AsyncGenerator<ObjectInfo> {
    let entries;
    try {
      entries = await this.handles.run(() => readdir(dirPath, { withFileTypes: true }));
    } catch (e) {
      if (isAbsent(e)) return;
      throw fsError(e, keyPrefix, 'list');
    }
    const children: { name: string; isDir: boolean; sortKey: string }[] = [];
    for (const entry of entries) {
      if (!entry.name.startsWith(namePrefix) || !isValidKeySegment(entry.name)) continue;
      let isDir = entry.isDirectory();
      if (!isDir && !entry.isFile()) {
        if (entry.isSymbolicLink()) continue; // never ours; following it could leave the root
        const info = await stat(join(dirPath, entry.name)).catch(() => null); // DT_UNKNOWN filesystems
        if (info === null || (!info.isFile() && !info.isDirectory())) continue;
        isDir = info.isDirectory();
      }
      // Every key under directory "a" starts with "a/", so that is what it sorts as: "a-b" < "a/x".
      children.push({ name: entry.name, isDir, sortKey: isDir ? `${entry.name}/` : entry.name });
    }
    children.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    for (const child of children) {
      const childPath = join(dirPath, child.name);
      if (child.isDir) {
        yield* this.walk(childPath, `${keyPrefix}${child.name}/`, '');
        continue;
      }
      let size: number;
      try {
        size = (await stat(childPath)).size;
      } catch (e) {
        if (isAbsent(e)) continue; // deleted while we were listing
        throw fsError(e, keyPrefix + child.name, 'list');
      }
      yield { key: keyPrefix + child.name, sizeBytes: size };
    }
  }

  /** mkdir -p, then fsync the parents of every directory it created so the new entries are durable too. */
  private async ensureDir(dir: string, key: string): Promise<void> {
    let firstCreated: string | undefined;
    try {
      firstCreated = await mkdir(dir, { recursive: true });
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOTDIR' || code === 'EEXIST') {
        throw new WeirError('invalid_argument', `object key ${key} collides with an existing object that is a prefix of it`);
      }
      throw fsError(e, key, 'put');
    }
    if (firstCreated === undefined) return;
    const stop = dirname(firstCreated);
    for (let p = dir; p !== stop; ) {
      p = dirname(p);
      // ENOENT: a concurrent delete pruned it; the put's open will notice and retry.
      await fsyncDir(p).catch((e: unknown) => {
        if (!isAbsent(e)) throw fsError(e, key, 'put');
      });
    }
  }

  /** Removes directories left empty by a delete, so GC of old hours does not leave a husk tree behind. */
  private async pruneEmptyDirs(dir: string): Promise<void> {
    for (let p = dir; p !== this.root && p.startsWith(this.root); p = dirname(p)) {
      try {
        this.knownDirs.delete(p);
        await rmdir(p);
      } catch {
        return; // ENOTEMPTY (the common case) or anything else: stop, pruning is best effort
      }
    }
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

/** ENOTDIR: a prefix of the path is a file, so the object cannot exist either. */
function isAbsent(e: unknown): boolean {
  const code = errnoCode(e);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function notFound(key: string): WeirError {
  return new WeirError('not_found', `object ${key} not found`);
}

function fsError(e: unknown, key: string, op: string): WeirError {
  if (e instanceof WeirError) return e;
  const code = errnoCode(e);
  if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST') {
    return new WeirError('invalid_argument', `object key ${key} collides with an existing key prefix`, { cause: e });
  }
  if (code === 'ENAMETOOLONG') return new WeirError('invalid_argument', `object key ${key} is too long for this filesystem`, { cause: e });
  // Disk full, I/O errors, EMFILE from other parts of the process: the store is not serving right now.
  if (code !== undefined) return new WeirError('unavailable', `fs object store ${op} ${key}: ${code}`, { cause: e });
  return new WeirError('internal', `fs object store ${op} ${key} failed`, { cause: e });
}

/**
 * Writes every byte of the body. Pieces go out with writev (no copy into one buffer); a short
 * write, which regular files rarely do, continues from where it stopped.
 */
async function writeAll(file: FileHandle, body: ObjectBody): Promise<void> {
  let pieces = (body instanceof Uint8Array ? [body] : [...body]).filter((b) => b.byteLength > 0);
  let left = objectBodySize(pieces);
  let position = 0;
  while (left > 0) {
    // IOV_MAX is 1024 on Linux; libuv splits larger vectors, but keep each call modest anyway.
    const batch = pieces.slice(0, 512);
    const { bytesWritten } = await file.writev(batch, position);
    if (bytesWritten <= 0) throw new WeirError('unavailable', 'write made no progress');
    position += bytesWritten;
    left -= bytesWritten;
    let skip = bytesWritten;
    while (skip > 0 && pieces.length > 0) {
      const first = pieces[0]!;
      if (first.byteLength <= skip) {
        skip -= first.byteLength;
        pieces.shift();
      } else {
        pieces[0] = first.subarray(skip);
        skip = 0;
      }
    }
  }
}
