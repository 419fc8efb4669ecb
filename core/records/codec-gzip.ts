/**
 * gzip codec (Kafka compression type 1) on node:zlib. Decompression passes maxOutputLength so
 * zlib itself stops a decompression bomb instead of us inspecting the output afterwards.
 */
import { promisify } from 'node:util';
import { gunzip, gzip, type ZlibOptions } from 'node:zlib';
import { WeirError } from '../errors.js';

const gzipAsync = promisify<Uint8Array, ZlibOptions, Buffer>(gzip);
const gunzipAsync = promisify<Uint8Array, ZlibOptions, Buffer>(gunzip);

export async function gzipCompress(data: Uint8Array, level?: number): Promise<Buffer> {
  return gzipAsync(data, level === undefined ? {} : { level });
}

export async function gzipDecompress(data: Uint8Array, maxBytes: number): Promise<Buffer> {
  try {
    // Kafka producers may write several gzip members back to back; gunzip reads them all.
    return await gunzipAsync(data, { maxOutputLength: Math.max(1, maxBytes) });
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new WeirError('too_large', `gzip data decompresses to more than ${maxBytes} bytes`, { cause: e });
    }
    throw new WeirError('corrupt', `invalid gzip data: ${(e as Error).message}`, { cause: e });
  }
}
