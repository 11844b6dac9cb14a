// Where the worker's SQLite keeps the replica: OPFS when this worker can
// really open a synchronous access handle, else the fallback the app asked
// for. OPFS is tried, not only looked for: WebKitGTK 2.50 has the API but its
// backend refuses access handles ("NotSupportedError: Backend does not
// support this operation"), and its WebDriver sessions refuse the directory
// itself ("UnknownError").
import SQLiteESMFactory from '@journeyapps/wa-sqlite/dist/wa-sqlite.mjs';
import { MemoryVFS } from '@journeyapps/wa-sqlite/src/examples/MemoryVFS.js';
import { OPFSCoopSyncVFS } from '@journeyapps/wa-sqlite/src/examples/OPFSCoopSyncVFS.js';
import { SqliteDriverError } from '../driver/sqlite-driver.ts';
import type { WaSqliteModule } from '../driver/wa-sqlite-runner.ts';
import type { OpfsFallback, OpfsStorage } from './worker-protocol.ts';

/** The wa-sqlite build and file system chosen for a replica. */
export interface ChosenStorage {
  readonly storage: OpfsStorage;
  readonly module: WaSqliteModule;
  readonly vfs: SQLiteVFS;
}

/** wa-sqlite's example VFS classes, as the worker uses them (their shipped types are stale). */
type VfsClass = { create(name: string, module: unknown, options?: object): Promise<SQLiteVFS> };

/** The parts of the worker's global scope used here (the package compiles with the DOM lib). */
const scope = globalThis as unknown as { readonly isSecureContext: boolean };

/** Why this worker cannot keep a database in OPFS, or undefined when it can. */
async function opfsUnavailable(): Promise<string | undefined> {
  if (!scope.isSecureContext) {
    return 'the page is not a secure context (OPFS needs https:, or http://localhost / 127.0.0.1)';
  }
  if (typeof navigator.storage?.getDirectory !== 'function') {
    return 'this browser has no Origin Private File System (navigator.storage.getDirectory)';
  }
  if (
    typeof FileSystemFileHandle === 'undefined' ||
    !('createSyncAccessHandle' in FileSystemFileHandle.prototype)
  ) {
    return 'this browser has no synchronous OPFS access handles (FileSystemFileHandle.createSyncAccessHandle)';
  }
  // A file of its own, so a probe never meets another worker's handle.
  const probe = `.carburetor-probe-${Math.random().toString(36).slice(2)}`;
  try {
    const root = await navigator.storage.getDirectory();
    const file = await root.getFileHandle(probe, { create: true });
    // In the worker lib, not in the DOM lib this package compiles with.
    const syncFile = file as unknown as { createSyncAccessHandle(): Promise<{ close(): void }> };
    const handle = await syncFile.createSyncAccessHandle();
    handle.close();
    await root.removeEntry(probe);
    return undefined;
  } catch (error) {
    const { name, message } =
      error instanceof Error ? error : { name: 'Error', message: String(error) };
    return `this browser refused a synchronous OPFS access handle (${name}: ${message})`;
  }
}

/** Why this worker cannot keep a database in IndexedDB, or undefined when it can. */
function indexedDbUnavailable(): string | undefined {
  if (typeof indexedDB === 'undefined') return 'there is no IndexedDB either';
  // IDBBatchAtomicVFS serializes its connections with Web Locks.
  if (typeof navigator.locks?.request !== 'function') {
    return 'there are no Web Locks, which the IndexedDB storage needs (not a secure context?)';
  }
  return undefined;
}

async function opfs(): Promise<ChosenStorage> {
  const module = (await SQLiteESMFactory()) as WaSqliteModule;
  const vfs = await OPFSCoopSyncVFS.create('carburetor-opfs', module);
  return { storage: 'opfs', module, vfs };
}

/**
 * SQLite on IndexedDB needs wa-sqlite's asynchronous (Asyncify) build, a
 * second wasm: imported only here, so browsers with OPFS never load it.
 */
async function indexedDb(name: string): Promise<ChosenStorage> {
  const [{ default: asyncFactory }, { IDBBatchAtomicVFS }] = await Promise.all([
    import('@journeyapps/wa-sqlite/dist/wa-sqlite-async.mjs'),
    import('@journeyapps/wa-sqlite/src/examples/IDBBatchAtomicVFS.js'),
  ]);
  const module = (await asyncFactory()) as WaSqliteModule;
  const vfs = await (IDBBatchAtomicVFS as unknown as VfsClass).create('carburetor-idb', module, {
    idbName: `carburetor-${name}`,
  });
  return { storage: 'indexeddb', module, vfs };
}

async function memory(): Promise<ChosenStorage> {
  const module = (await SQLiteESMFactory()) as WaSqliteModule;
  const vfs = await (MemoryVFS as unknown as VfsClass).create('carburetor-memory', module);
  return { storage: 'memory', module, vfs };
}

/** Picks the storage for the replica `name`: OPFS, else `fallback`, else an `unsupported` error saying why. */
export async function chooseStorage(
  name: string,
  fallback: OpfsFallback | undefined,
): Promise<ChosenStorage> {
  const noOpfs = await opfsUnavailable();
  if (noOpfs === undefined) return opfs();
  if (fallback === 'memory') return memory();
  const noIndexedDb = fallback === 'indexeddb' ? indexedDbUnavailable() : undefined;
  if (fallback === 'indexeddb' && noIndexedDb === undefined) return indexedDb(name);
  throw new SqliteDriverError(
    'unsupported',
    `Cannot open the replica "${name}" on OPFS: ${noOpfs}${noIndexedDb ? `, and ${noIndexedDb}` : ''}. Serve the app from a secure context in a current browser, or pass opfsDriver({ name, fallback: 'indexeddb' }) to keep the replica in IndexedDB (survives reloads) or fallback: 'memory' (lost on reload), and check driver.storage.`,
  );
}
