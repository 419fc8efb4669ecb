/**
 * PortCoordination (worker threads' view of the process's coordination) passes the same
 * contract as the backends, across a real MessagePort pair serving a MemoryCoordination.
 */
import { MessageChannel } from 'node:worker_threads';
import { MemoryCoordination } from '../../core/coordination/memory-coordination.js';
import { PortCoordination, serveCoordination } from '../../core/coordination/port-coordination.js';
import { RpcEndpoint } from '../../core/port-rpc.js';
import { coordinationContract } from './coordination-contract.js';

coordinationContract('port (memory served over a MessagePort)', async () => {
  const { port1, port2 } = new MessageChannel();
  const served = new MemoryCoordination();
  const server = new RpcEndpoint(port1);
  serveCoordination(server, served);
  const client = new RpcEndpoint(port2);
  return {
    coordination: new PortCoordination(client, served.kind),
    cleanup: async () => {
      client.close();
      server.close();
      port1.close();
      await served.close();
    },
  };
});
