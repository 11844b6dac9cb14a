'use client';

/**
 * Your page, below the provider: the hooks of every table in
 * packages/sync-config come from client/hooks.ts (`useActiveItems`,
 * `useInsertItem`, ...).
 */
export function Home({ userId }: { userId: string }) {
  return (
    <p>Welcome, {userId}. Add your tables to packages/sync-config, then use their hooks here.</p>
  );
}
