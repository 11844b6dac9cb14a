import { config } from '@{{name}}/sync-config';
import { createCarburetorHooks } from '@carburetor/react';

// Named from the config's tables: `item` gives useActiveItems, useInsertItem, ...
export const { CarburetorProvider, useSyncStatus, useActiveItems, useInsertItem } =
  createCarburetorHooks(config);
