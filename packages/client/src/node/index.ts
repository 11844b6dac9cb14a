export type { MemoryDriver, MemoryDriverOptions } from './memory-driver.ts';
export { deleteMemoryStore, memoryDriver } from './memory-driver.ts';
