import { WeirError } from '../errors.js';
import { assertValidRange, clampRange } from './byte-range.js';
import { assertValidObjectKey } from './object-key.js';
import { type ByteRange, type ObjectBody, type ObjectInfo, type ObjectStore } from './object-store.js';

/**
 * An in-process ObjectStore for tests. It copies on put and on get so that a caller mutating a
 * buffer can never change a stored object: the real backends cannot alias memory either, and
 * tests must not pass only because of aliasing.
 */
export class MemoryObjectStore implements ObjectStore {
  readonly kind = 'memory';
  private readonly objects = new Map<string, Buffer>();

  async put(key: string, body: ObjectBody): Promise<void> {
    assertValidObjectKey(key);
    // Buffer.concat always allocates, so pieces and single buffers are both copied.
    this.objects.set(key, Buffer.concat(body instanceof Uint8Array ? [body] : (body as Uint8Array[])));
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    assertValidObjectKey(key);
    if (range !== undefined) assertValidRange(range);
    const body = this.objects.get(key);
    if (body === undefined) throw new WeirError('not_found', `object ${key} not found`);
    const { start, end } = clampRange(range, body.length);
    return Buffer.from(body.subarray(start, end));
  }

  async head(key: string): Promise<ObjectInfo | null> {
    assertValidObjectKey(key);
    const body = this.objects.get(key);
    return body === undefined ? null : { key, sizeBytes: body.length };
  }

  async delete(key: string): Promise<void> {
    assertValidObjectKey(key);
    this.objects.delete(key);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Snapshot the matching keys first so a put or delete during iteration cannot disturb it.
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    for (const key of keys) {
      const body = this.objects.get(key);
      if (body !== undefined) yield { key, sizeBytes: body.length };
    }
  }

  async close(): Promise<void> {}
}
