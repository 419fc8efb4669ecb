/**
 * PortObjectStore (worker threads' view of the process's object store) passes the same contract
 * as the backends, across a real MessagePort pair serving a MemoryObjectStore; and a listing
 * longer than one page crosses complete and in order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { RpcEndpoint } from '../../core/port-rpc.js';
import { MemoryObjectStore } from '../../core/storage/memory-object-store.js';
import { PortObjectStore, serveObjectStore } from '../../core/storage/port-object-store.js';
import { objectStoreContract } from './object-store-contract.js';

async function portStore(): Promise<{ store: PortObjectStore; cleanup: () => Promise<void> }> {
  const { port1, port2 } = new MessageChannel();
  const served = new MemoryObjectStore();
  const server = new RpcEndpoint(port1);
  serveObjectStore(server, served);
  const client = new RpcEndpoint(port2);
  return {
    store: new PortObjectStore(client, served.kind),
    cleanup: async () => {
      client.close();
      server.close();
      port1.close();
      await served.close();
    },
  };
}

objectStoreContract('port (memory served over a MessagePort)', portStore);

describe('PortObjectStore', () => {
  it('lists more keys than one page, complete and in order', async () => {
    const { store, cleanup } = await portStore();
    try {
      const keys = Array.from({ length: 2503 }, (_, i) => `many/k-${String(i).padStart(5, '0')}`);
      for (const k of keys) await store.put(k, Buffer.from(k));
      await store.put('other/x', Buffer.from('x'));
      const listed: string[] = [];
      for await (const o of store.list('many/')) listed.push(o.key);
      assert.deepEqual(listed, keys);
    } finally {
      await cleanup();
    }
  });
});
