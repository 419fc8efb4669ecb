import { after, before } from 'node:test';
import { RedisCoordination } from '../../core/coordination/redis-coordination.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { coordinationContract } from './coordination-contract.js';

let server: RedisServer;
before(async () => {
  server = await startRedisServer({ appendonly: false });
});
after(async () => {
  await server?.stop();
});

coordinationContract('redis', async () => ({
  coordination: new RedisCoordination({ url: server.url, namespace: 'coord-test' }),
  cleanup: async () => {},
}));
