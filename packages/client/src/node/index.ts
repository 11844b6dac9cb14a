export type { MemoryDriver, MemoryDriverOptions } from './wa-sqlite-driver.ts';
export { deleteMemoryStore, memoryDriver } from './wa-sqlite-driver.ts';
