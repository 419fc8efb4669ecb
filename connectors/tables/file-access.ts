/**
 * Table files as DuckDB reads them: local paths. A folder object store already has them on disk
 * (read in place, no copy). Other stores (S3) have them downloaded into the context's scratch
 * folder for the one operation that needs them (a query's topics, a merge's run) and deleted when
 * it ends (release()), so the scratch folder holds only what running operations read.
 *
 * Bounded (docs/decisions.md, "Tables on S3: per-operation downloads, bounded"):
 * - scratch bytes: every download is counted against the context's scratch limit before it starts
 *   (sizes come from the manifest); an operation that would go past it fails with a 'too_large'
 *   error naming the bytes needed and the limit, having downloaded nothing;
 * - memory and connections: DOWNLOADS_AT_ONCE objects at a time, each fetched in ranged GETs of
 *   DOWNLOAD_PIECE_BYTES appended to its file, so a download holds at most that much per object.
 */
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { WeirError } from '../../core/errors.js';
import type { TableContext } from './table-context.js';

/** Scratch bytes a context may hold in downloads at once unless set (setScratchBytesMax). */
export const SCRATCH_BYTES_MAX_DEFAULT = 4 * 1024 * 1024 * 1024;
const DOWNLOADS_AT_ONCE = 4;
const DOWNLOAD_PIECE_BYTES = 8 * 1024 * 1024;

interface Scratch {
  usedBytes: number;
  maxBytes: number;
}

/** Per scratch folder (a context and its lane copies share one). */
const scratches = new Map<string, Scratch>();
let downloads = 0;

function scratchOf(ctx: TableContext): Scratch {
  let s = scratches.get(ctx.tempDir);
  if (s === undefined) {
    s = { usedBytes: 0, maxBytes: SCRATCH_BYTES_MAX_DEFAULT };
    scratches.set(ctx.tempDir, s);
  }
  return s;
}

/** Sets the scratch limit of the context's downloads (the CLI's --scratch-bytes-max). */
export function setScratchBytesMax(ctx: TableContext, maxBytes: number): void {
  scratchOf(ctx).maxBytes = maxBytes;
}

/** Scratch bytes the context's downloads hold now (for tests and diagnostics). */
export function scratchBytesInUse(ctx: TableContext): number {
  return scratches.get(ctx.tempDir)?.usedBytes ?? 0;
}

export interface TableFileRef {
  key: string;
  sizeBytes: number;
}

export interface LocalFiles {
  /** One local path per file, in the order given. */
  paths: string[];
  /** Deletes the downloaded copies and returns their bytes to the scratch limit. Idempotent. */
  release(): Promise<void>;
}

/**
 * Local paths for the files. `what` names the operation for the error when the scratch limit is
 * too small (e.g. `the table files of "orders"`).
 */
export async function localFiles(ctx: TableContext, files: readonly TableFileRef[], what: string): Promise<LocalFiles> {
  const paths: string[] = new Array(files.length);
  const toFetch: { i: number; ref: TableFileRef }[] = [];
  files.forEach((ref, i) => {
    const direct = ctx.localPathOf(ref.key);
    if (direct !== null) paths[i] = direct;
    else toFetch.push({ i, ref });
  });
  if (toFetch.length === 0) return { paths, release: async () => undefined };

  const scratch = scratchOf(ctx);
  const needed = toFetch.reduce((n, f) => n + f.ref.sizeBytes, 0);
  if (scratch.usedBytes + needed > scratch.maxBytes) {
    throw new WeirError(
      'too_large',
      `${what} need ${needed} bytes of local scratch space (the object store is ${ctx.objects.kind}; files are downloaded for the operation), ` +
        `above --scratch-bytes-max ${scratch.maxBytes}${scratch.usedBytes > 0 ? ` (${scratch.usedBytes} already in use)` : ''}; raise it or narrow the query to fewer topics`,
      { retriable: false },
    );
  }
  scratch.usedBytes += needed;
  const written: string[] = [];
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    for (const p of written) await rm(p, { force: true });
    scratch.usedBytes -= needed;
  };
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < toFetch.length) {
        const { i, ref } = toFetch[next++]!;
        const path = join(ctx.tempDir, `dl-${process.pid}-${downloads++}-${ref.key.split('/').pop()}`);
        written.push(path);
        await download(ctx, ref, path);
        paths[i] = path;
      }
    };
    await Promise.all(Array.from({ length: Math.min(DOWNLOADS_AT_ONCE, toFetch.length) }, worker));
  } catch (e) {
    await release();
    throw e;
  }
  return { paths, release };
}

/** Copies one object to path in ranged pieces (whole, when its size is unknown or small). */
async function download(ctx: TableContext, ref: TableFileRef, path: string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    if (ref.sizeBytes <= DOWNLOAD_PIECE_BYTES) {
      const body = await ctx.objects.get(ref.key);
      // The manifest's size is what the scratch limit counted: a larger object would break the bound.
      if (body.byteLength !== ref.sizeBytes) throw new WeirError('corrupt', `${ref.key} has ${body.byteLength} bytes, the manifest says ${ref.sizeBytes}`);
      await fh.write(body);
      return;
    }
    for (let start = 0; start < ref.sizeBytes; start += DOWNLOAD_PIECE_BYTES) {
      const end = Math.min(ref.sizeBytes, start + DOWNLOAD_PIECE_BYTES);
      const piece = await ctx.objects.get(ref.key, { start, end });
      if (piece.byteLength !== end - start) throw new WeirError('corrupt', `${ref.key}: bytes ${start}-${end} came back as ${piece.byteLength} bytes`);
      await fh.write(piece);
    }
  } finally {
    await fh.close();
  }
}
