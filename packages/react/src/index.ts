// The status before a client exists; defined by the client, re-exported for hook users.
export { NOT_STARTED_STATUS } from '@carburetor/client';
export { createCarburetorHooks } from './create-carburetor-hooks.tsx';
export { CarburetorReactError, type ReactErrorCode } from './errors.ts';
export type {
  ActiveHooks,
  CarburetorClient,
  CarburetorHooks,
  CarburetorProviderProps,
  LocalQuery,
  LocalQueryOptions,
  LocalQueryResult,
  UpdateVariables,
  UseActive,
  UseDelete,
  UseInsert,
  UseLocalQuery,
  UseUpdate,
  WriteHooks,
  WriteOptions,
} from './types.ts';
export type { SyncProgress } from './use-sync-progress.ts';
