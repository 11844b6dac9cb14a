export {
  measureRawInserts,
  type OpfsDriver,
  type OpfsDriverOptions,
  opfsDriver,
} from './opfs-driver.ts';
export type { OpfsStorage } from './worker-protocol.ts';
