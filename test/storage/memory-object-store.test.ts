import { MemoryObjectStore } from '../../core/storage/memory-object-store.js';
import { objectStoreContract } from '../contracts/object-store-contract.js';

objectStoreContract('memory', async () => ({ store: new MemoryObjectStore(), cleanup: async () => {} }));
