import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import {
  CarburetorProvider,
  openReplica,
  useActiveTodos,
  useInsertTodo,
  useSyncStatus,
} from './carburetor.ts';

type Replica = Awaited<ReturnType<typeof openReplica>>;

// Opened once per page, outside React: StrictMode runs effects twice.
const queryClient = new QueryClient();
const replicas = new Map<string, Promise<Replica>>();
function replicaOf(userId: string): Promise<Replica> {
  let replica = replicas.get(userId);
  if (!replica) {
    replica = openReplica(userId);
    replicas.set(userId, replica);
  }
  return replica;
}

/** This app's "auth": the signed-in user is the `user` cookie. */
const userId = /(?:^|;\s*)user=([^;]+)/.exec(document.cookie)?.[1];

function App() {
  const [client, setClient] = useState<Replica>();
  useEffect(() => {
    if (userId) replicaOf(userId).then(setClient);
  }, []);
  if (!userId) return <p>Sign in: set the user cookie.</p>;
  if (!client) return <p>Opening the replica…</p>;
  return (
    <QueryClientProvider client={queryClient}>
      <CarburetorProvider client={client}>
        <Todos userId={userId} />
      </CarburetorProvider>
    </QueryClientProvider>
  );
}

function Todos({ userId }: { userId: string }) {
  const { data: todos = [] } = useActiveTodos((q) => q.orderBy('title')); // a local SQL query, live
  const insert = useInsertTodo();
  const status = useSyncStatus();
  const [title, setTitle] = useState('');
  return (
    <main>
      <h1>{userId}&apos;s todos</h1>
      <p data-testid="status">{status.live ? 'live' : 'offline'}</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          insert.mutate({ owner_id: userId, title });
          setTitle('');
        }}
      >
        <input
          aria-label="title"
          value={title}
          onChange={(event) => setTitle(event.target.value)}
        />
        <button type="submit">Add</button>
      </form>
      <ul>
        {todos.map((todo) => (
          <li key={todo.id}>{todo.title}</li>
        ))}
      </ul>
    </main>
  );
}

export default App;
