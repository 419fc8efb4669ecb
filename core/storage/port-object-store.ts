/**
 * An ObjectStore for worker threads: every call crosses a MessagePort (core/port-rpc.ts) to the
 * store the process owns, served there by serveObjectStore(). A memory store stays one store for
 * all threads, and an fs or S3 store keeps one set of connections and retries. Bodies are copied
 * across (structured clone); this is for checkpoints and state, not for the log's hot path.
 * Same contract suite as every backend (test/contracts/object-store-port.test.ts).
 *
 * list() crosses in pages of at most LIST_PAGE_MAX keys: the serving side walks the backend's
 * listing and returns the keys after the last one the caller saw, so no side holds more than a
 * page of a large listing.
 */
import type { RpcEndpoint } from '../port-rpc.js';
import type { ByteRange, ObjectBody, ObjectInfo, ObjectStore } from './object-store.js';

const PREFIX = 'objectStore';
const LIST_PAGE_MAX = 1000;

function asBuffer(v: Uint8Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Serves `store` to a PortObjectStore on the other side of `rpc`. */
export function serveObjectStore(rpc: RpcEndpoint, store: ObjectStore): void {
  rpc.handle(`${PREFIX}.put`, (key: string, body: ObjectBody) => store.put(key, body));
  rpc.handle(`${PREFIX}.get`, async (key: string, range?: ByteRange) => new Uint8Array(await store.get(key, range)));
  rpc.handle(`${PREFIX}.head`, (key: string) => store.head(key));
  rpc.handle(`${PREFIX}.delete`, (key: string) => store.delete(key));
  rpc.handle(`${PREFIX}.listPage`, async (prefix: string, after: string | null) => {
    const page: ObjectInfo[] = [];
    for await (const o of store.list(prefix)) {
      if (after !== null && o.key <= after) continue;
      page.push(o);
      if (page.length >= LIST_PAGE_MAX) break;
    }
    return page;
  });
}

export class PortObjectStore implements ObjectStore {
  readonly kind: string;

  constructor(
    private readonly rpc: RpcEndpoint,
    servedKind = 'served',
  ) {
    this.kind = `${servedKind} via port`;
  }

  put(key: string, body: ObjectBody): Promise<void> {
    return this.rpc.call(`${PREFIX}.put`, key, body);
  }
  async get(key: string, range?: ByteRange): Promise<Buffer> {
    return asBuffer(await this.rpc.call<Uint8Array>(`${PREFIX}.get`, key, range));
  }
  head(key: string): Promise<ObjectInfo | null> {
    return this.rpc.call(`${PREFIX}.head`, key);
  }
  delete(key: string): Promise<void> {
    return this.rpc.call(`${PREFIX}.delete`, key);
  }
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let after: string | null = null;
    for (;;) {
      const page: ObjectInfo[] = await this.rpc.call<ObjectInfo[]>(`${PREFIX}.listPage`, prefix, after);
      yield* page;
      if (page.length < LIST_PAGE_MAX) return;
      after = page[page.length - 1]!.key;
    }
  }
  /** The served store belongs to its owner; this only stops using it. */
  async close(): Promise<void> {}
}
