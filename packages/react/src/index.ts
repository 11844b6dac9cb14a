export {
  createCarburetorHooks,
  NOT_STARTED_STATUS,
} from './create-carburetor-hooks.tsx';
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
