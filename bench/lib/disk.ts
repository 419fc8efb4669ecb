/**
 * Same-run disk baselines: what the filesystem under the data dir can do with no Weir in the
 * way. Each benchmark compares its figure with one of these, measured minutes apart on the same
 * machine, because this VM's disk varies several-fold from run to run (see docs/benchmarks.md).
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { runPython } from './process.js';

const MiB = 1024 * 1024;

export interface Bandwidth {
  bytes: number;
  seconds: number;
  mibPerSec: number;
}

function bandwidth(bytes: number, seconds: number): Bandwidth {
  return { bytes, seconds, mibPerSec: bytes / MiB / seconds };
}

/**
 * Sequential writes of `chunkBytes` to one file in `dir`, fdatasync after each, for about
 * `seconds`: the bandwidth a flusher that writes and syncs one chunk at a time could reach.
 */
export function fdatasyncWriteBandwidth(dir: string, chunkBytes = 8 * MiB, seconds = 3): Bandwidth {
  const path = join(dir, `.bench-disk-${process.pid}`);
  const chunk = randomBytes(chunkBytes);
  const fd = openSync(path, 'w');
  let bytes = 0;
  const start = performance.now();
  let elapsed = 0;
  try {
    while (elapsed < seconds * 1000) {
      for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
      fdatasyncSync(fd);
      bytes += chunk.length;
      elapsed = performance.now() - start;
    }
  } finally {
    closeSync(fd);
    unlinkSync(path);
  }
  return bandwidth(bytes, elapsed / 1000);
}

/**
 * Latency of one durable object put done the way the fs object store does it: write a temp file,
 * fsync it, rename it into place, fsync the directory. Returns one sample (ms) per put.
 */
export function durablePutLatenciesMs(dir: string, objectBytes: number, count: number): number[] {
  const body = randomBytes(Math.max(1, objectBytes));
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const temp = join(dir, `.bench-put-tmp-${process.pid}`);
    const target = join(dir, `bench-put-${process.pid}-${i}`);
    const t0 = performance.now();
    const fd = openSync(temp, 'wx');
    for (let off = 0; off < body.length; ) off += writeSync(fd, body, off);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temp, target);
    const dfd = openSync(dir, 'r');
    fsyncSync(dfd);
    closeSync(dfd);
    samples.push(performance.now() - t0);
    rmSync(target);
  }
  return samples;
}

/** Every regular file under dir whose name ends with suffix, recursively. */
export function listFiles(dir: string, suffix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path, suffix));
    else if (entry.isFile() && entry.name.endsWith(suffix)) out.push(path);
  }
  return out.sort();
}

export function totalBytes(files: readonly string[]): number {
  return files.reduce((n, f) => n + statSync(f).size, 0);
}

/** Reads the files start to end through one 8 MiB buffer, as `cat files > /dev/null` would. */
export function readFilesBandwidth(files: readonly string[]): Bandwidth {
  const buf = Buffer.allocUnsafe(8 * MiB);
  let bytes = 0;
  const start = performance.now();
  for (const file of files) {
    const fd = openSync(file, 'r');
    try {
      let n: number;
      while ((n = readSync(fd, buf, 0, buf.length, null)) > 0) bytes += n;
    } finally {
      closeSync(fd);
    }
  }
  return bandwidth(bytes, (performance.now() - start) / 1000);
}

/**
 * Drops the files' pages from the OS page cache (posix_fadvise DONTNEED, via Python since Node has
 * no fadvise), so the next read comes from the disk. Only these files are affected, not the rest
 * of the machine. The files must be clean (already synced), which Weir's objects are.
 */
export async function evictFromPageCache(files: readonly string[]): Promise<void> {
  await runPython<{ evicted: number }>('evict.py', { files }, { timeoutMs: 120_000 });
}
