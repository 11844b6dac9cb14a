import * as VFS from '@journeyapps/wa-sqlite/src/VFS.js';

/** The part of the Emscripten module a VFS touches: the wasm heap. */
export interface WasmHeap {
  readonly HEAPU8: Uint8Array;
}

/**
 * One file image (database, rollback journal, temp file). Images outlive
 * connections: that is what lets a test reopen a store after a crash.
 */
interface MemoryImage {
  data: Uint8Array;
  size: number;
  /** Lock state across every handle of every connection. */
  sharedCount: number;
  reservedBy: Handle | undefined;
  pendingBy: Handle | undefined;
  exclusiveBy: Handle | undefined;
}

interface Handle {
  readonly path: string;
  readonly image: MemoryImage;
  readonly flags: number;
  lock: number;
}

/** Every file image of the process, keyed by path; survives connections, not the process. */
const images = new Map<string, MemoryImage>();

/** Paths of the images a store owns: the database and its journal. */
export function memoryImagePaths(name: string): string[] {
  return [...images.keys()].filter((path) => path === name || path.startsWith(`${name}-`));
}

/** A copy of one file image, or undefined when there is none. */
export function readMemoryImage(path: string): Uint8Array | undefined {
  const image = images.get(path);
  return image ? image.data.slice(0, image.size) : undefined;
}

/** Forgets a store's database and journal images. */
export function deleteMemoryImages(name: string): void {
  for (const path of memoryImagePaths(name)) images.delete(path);
}

let tempCounter = 0;

/**
 * A synchronous VFS over the process-wide image map, one instance per
 * connection so that `kill()` drops exactly that connection's handles and
 * locks, as a process death would, leaving the images (and any hot journal)
 * for the next connection to recover.
 */
export class MemoryImageVFS extends VFS.Base {
  override mxPathname = 512;
  readonly #heap: WasmHeap;
  readonly #handles = new Map<number, Handle>();
  #dead = false;
  #writesLeft: number;

  constructor(name: string, heap: WasmHeap, options: { crashAfterWrites?: number } = {}) {
    super(name, heap);
    this.#heap = heap;
    this.#writesLeft = options.crashAfterWrites ?? Number.POSITIVE_INFINITY;
  }

  get dead(): boolean {
    return this.#dead;
  }

  /** Simulates the process dying: handles and locks vanish, images stay as they are now. */
  kill(): void {
    this.#dead = true;
    for (const handle of this.#handles.values()) {
      releaseLocks(handle);
      if (handle.flags & VFS.SQLITE_OPEN_DELETEONCLOSE) images.delete(handle.path);
    }
    this.#handles.clear();
  }

  override xOpen(_pVfs: number, zName: number, pFile: number, flags: number, pOutFlags: number) {
    if (this.#dead) return VFS.SQLITE_IOERR;
    const path = zName ? this.#string(zName) : `/temp-${++tempCounter}`;
    let image = images.get(path);
    if (!image) {
      if (!(flags & VFS.SQLITE_OPEN_CREATE)) return VFS.SQLITE_CANTOPEN;
      image = {
        data: new Uint8Array(0),
        size: 0,
        sharedCount: 0,
        reservedBy: undefined,
        pendingBy: undefined,
        exclusiveBy: undefined,
      };
      images.set(path, image);
    }
    this.#handles.set(pFile, { path, image, flags, lock: VFS.SQLITE_LOCK_NONE });
    this.#view().setInt32(pOutFlags, flags, true);
    return VFS.SQLITE_OK;
  }

  override xDelete(_pVfs: number, zName: number) {
    if (this.#dead) return VFS.SQLITE_IOERR_DELETE;
    images.delete(this.#string(zName));
    return VFS.SQLITE_OK;
  }

  override xAccess(_pVfs: number, zName: number, _flags: number, pResOut: number) {
    if (this.#dead) return VFS.SQLITE_IOERR_ACCESS;
    this.#view().setInt32(pResOut, images.has(this.#string(zName)) ? 1 : 0, true);
    return VFS.SQLITE_OK;
  }

  override xFullPathname(_pVfs: number, zName: number, nOut: number, zOut: number) {
    const heap = this.#heap.HEAPU8;
    const end = heap.indexOf(0, zName);
    const length = end - zName;
    if (length + 1 > nOut) return VFS.SQLITE_CANTOPEN;
    heap.copyWithin(zOut, zName, end + 1);
    return VFS.SQLITE_OK;
  }

  override xClose(pFile: number) {
    const handle = this.#handles.get(pFile);
    if (!handle) return VFS.SQLITE_OK; // already dropped by kill()
    this.#handles.delete(pFile);
    releaseLocks(handle);
    if (handle.flags & VFS.SQLITE_OPEN_DELETEONCLOSE) images.delete(handle.path);
    return VFS.SQLITE_OK;
  }

  override xRead(pFile: number, pData: number, iAmt: number, lo: number, hi: number) {
    const handle = this.#handles.get(pFile);
    if (!handle) return VFS.SQLITE_IOERR_READ;
    const { image } = handle;
    const offset = toOffset(lo, hi);
    const available = Math.max(0, Math.min(iAmt, image.size - offset));
    const heap = this.#heap.HEAPU8;
    if (available > 0) heap.set(image.data.subarray(offset, offset + available), pData);
    if (available < iAmt) {
      heap.fill(0, pData + available, pData + iAmt);
      return VFS.SQLITE_IOERR_SHORT_READ;
    }
    return VFS.SQLITE_OK;
  }

  override xWrite(pFile: number, pData: number, iAmt: number, lo: number, hi: number) {
    const handle = this.#handles.get(pFile);
    if (!handle) return VFS.SQLITE_IOERR_WRITE;
    const { image } = handle;
    const offset = toOffset(lo, hi);
    const end = offset + iAmt;
    if (end > image.data.byteLength) {
      const grown = new Uint8Array(Math.max(end, image.data.byteLength * 2, 4096));
      grown.set(image.data.subarray(0, image.size));
      image.data = grown;
    }
    image.data.set(this.#heap.HEAPU8.subarray(pData, pData + iAmt), offset);
    if (offset > image.size) image.data.fill(0, image.size, offset);
    image.size = Math.max(image.size, end);
    // The write that reaches the limit lands; the process dies right after it.
    if (--this.#writesLeft <= 0) this.kill();
    return VFS.SQLITE_OK;
  }

  override xTruncate(pFile: number, lo: number, hi: number) {
    const handle = this.#handles.get(pFile);
    if (!handle) return VFS.SQLITE_IOERR_TRUNCATE;
    handle.image.size = Math.min(handle.image.size, toOffset(lo, hi));
    return VFS.SQLITE_OK;
  }

  override xSync(pFile: number) {
    return this.#handles.has(pFile) ? VFS.SQLITE_OK : VFS.SQLITE_IOERR_FSYNC;
  }

  override xFileSize(pFile: number, pSize: number) {
    const handle = this.#handles.get(pFile);
    if (!handle) return VFS.SQLITE_IOERR_FSTAT;
    this.#view().setBigInt64(pSize, BigInt(handle.image.size), true);
    return VFS.SQLITE_OK;
  }

  override xLock(pFile: number, lockType: number) {
    const handle = this.#handles.get(pFile);
    if (!handle) return VFS.SQLITE_IOERR_LOCK;
    return acquireLock(handle, lockType);
  }

  override xUnlock(pFile: number, lockType: number) {
    const handle = this.#handles.get(pFile);
    if (!handle) return VFS.SQLITE_OK;
    downgradeLock(handle, lockType);
    return VFS.SQLITE_OK;
  }

  override xCheckReservedLock(pFile: number, pResOut: number) {
    const handle = this.#handles.get(pFile);
    if (!handle) return VFS.SQLITE_IOERR_CHECKRESERVEDLOCK;
    const { image } = handle;
    const reserved = image.reservedBy ?? image.pendingBy ?? image.exclusiveBy;
    this.#view().setInt32(pResOut, reserved ? 1 : 0, true);
    return VFS.SQLITE_OK;
  }

  override xSectorSize() {
    return 4096;
  }

  override xDeviceCharacteristics() {
    // Overwriting a range never touches bytes outside it. Nothing more is
    // claimed (no atomic writes), so SQLite keeps its rollback journal.
    return VFS.SQLITE_IOCAP_POWERSAFE_OVERWRITE;
  }

  #string(pointer: number): string {
    const heap = this.#heap.HEAPU8;
    return new TextDecoder().decode(heap.subarray(pointer, heap.indexOf(0, pointer)));
  }

  #view(): DataView {
    const heap = this.#heap.HEAPU8;
    return new DataView(heap.buffer, heap.byteOffset, heap.byteLength);
  }
}

// Emscripten passes a 64-bit offset as two signed 32-bit halves.
function toOffset(lo: number, hi: number): number {
  return hi * 0x100000000 + (lo >>> 0);
}

// SQLite's lock ladder (NONE < SHARED < RESERVED < PENDING < EXCLUSIVE), as
// os_unix.c implements it, across all connections of the process.
function acquireLock(handle: Handle, lockType: number): number {
  const { image } = handle;
  if (handle.lock >= lockType) return VFS.SQLITE_OK;
  switch (lockType) {
    case VFS.SQLITE_LOCK_SHARED: {
      if (image.pendingBy || image.exclusiveBy) return VFS.SQLITE_BUSY;
      image.sharedCount++;
      handle.lock = VFS.SQLITE_LOCK_SHARED;
      return VFS.SQLITE_OK;
    }
    case VFS.SQLITE_LOCK_RESERVED: {
      if (image.reservedBy && image.reservedBy !== handle) return VFS.SQLITE_BUSY;
      image.reservedBy = handle;
      handle.lock = VFS.SQLITE_LOCK_RESERVED;
      return VFS.SQLITE_OK;
    }
    default: {
      // PENDING keeps new readers out while the writer waits for old ones to leave.
      if (image.pendingBy && image.pendingBy !== handle) return VFS.SQLITE_BUSY;
      image.pendingBy = handle;
      handle.lock = VFS.SQLITE_LOCK_PENDING;
      if (lockType === VFS.SQLITE_LOCK_PENDING) return VFS.SQLITE_OK;
      if (image.sharedCount > 1) return VFS.SQLITE_BUSY;
      image.exclusiveBy = handle;
      handle.lock = VFS.SQLITE_LOCK_EXCLUSIVE;
      return VFS.SQLITE_OK;
    }
  }
}

function downgradeLock(handle: Handle, lockType: number): void {
  const { image } = handle;
  if (handle.lock <= lockType) return;
  if (image.exclusiveBy === handle) image.exclusiveBy = undefined;
  if (image.pendingBy === handle) image.pendingBy = undefined;
  if (image.reservedBy === handle) image.reservedBy = undefined;
  if (lockType === VFS.SQLITE_LOCK_NONE && handle.lock >= VFS.SQLITE_LOCK_SHARED) {
    image.sharedCount--;
  }
  handle.lock = lockType;
}

function releaseLocks(handle: Handle): void {
  downgradeLock(handle, VFS.SQLITE_LOCK_NONE);
}
