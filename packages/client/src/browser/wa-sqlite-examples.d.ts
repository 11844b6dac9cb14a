// @journeyapps/wa-sqlite ships no types for this example VFS: only what the worker uses.
declare module '@journeyapps/wa-sqlite/src/examples/OPFSCoopSyncVFS.js' {
  export const OPFSCoopSyncVFS: {
    /** Creates the VFS: claims a temporary-file directory in OPFS under a Web Lock. */
    create(name: string, module: unknown): Promise<SQLiteVFS>;
  };
}
