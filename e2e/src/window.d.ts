// The demo's devtools handle (apps/web/src/client/carburetor.ts), as much of it as the tests use.
interface ReplicaQuery {
  select(columns: string[]): { execute(): Promise<unknown[]> };
}

interface Window {
  __carburetor?: {
    userId: string;
    driver: { name: string; isOwner: boolean; storage: string | undefined };
    client: {
      db: { selectFrom(table: string): ReplicaQuery };
      status: unknown;
      insertPhoneBook(row: { owner_id: string; name: string; phone_number: string }): Promise<{
        id: string;
      }>;
      rejected(): Promise<unknown[]>;
    };
  };
}
