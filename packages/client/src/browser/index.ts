export { type OpfsDriver, type OpfsDriverOptions, opfsDriver } from './opfs-driver.ts';
export type { OpfsStorage } from './worker-protocol.ts';
