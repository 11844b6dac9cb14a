export { type OpfsDriver, type OpfsDriverOptions, opfsDriver } from './opfs-driver.ts';
export type { OpfsFallback, OpfsStorage } from './worker-protocol.ts';
