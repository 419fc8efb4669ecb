import { MemoryCoordination } from '../../core/coordination/memory-coordination.js';
import { coordinationContract } from './coordination-contract.js';

coordinationContract('memory', async () => ({ coordination: new MemoryCoordination(), cleanup: async () => {} }));
