import { config } from '@{{name}}/sync-config';
import { createCarburetorHooks } from '@carburetor/react';

// Named from the config's tables: `todo` / `todos` gives useActiveTodos, useInsertTodo, ...
export const { CarburetorProvider, useSyncStatus, useActiveTodos, useInsertTodo, useUpdateTodo } =
  createCarburetorHooks(config);
