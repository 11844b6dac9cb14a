'use client';

import { useState } from 'react';
import { useActiveTodos, useInsertTodo, useUpdateTodo } from '../client/hooks';

/** The todo list: your todos and everyone's shared ones, read from the local replica. */
export function Home({ userId }: { userId: string }) {
  const { data: todos = [] } = useActiveTodos((q) => q.orderBy('title')); // a local SQL query, live
  const insert = useInsertTodo();
  const update = useUpdateTodo();
  const [title, setTitle] = useState('');
  const [shared, setShared] = useState(false);
  return (
    <>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (!title.trim()) return;
          insert.mutate({ owner_id: userId, title: title.trim(), shared });
          setTitle('');
        }}
      >
        <input
          aria-label="title"
          placeholder="What needs doing?"
          value={title}
          onChange={(event) => setTitle(event.target.value)}
        />
        <label>
          <input
            type="checkbox"
            checked={shared}
            onChange={(event) => setShared(event.target.checked)}
          />{' '}
          shared
        </label>
        <button type="submit">Add</button>
      </form>
      <ul>
        {todos.map((todo) => (
          <li key={todo.id}>
            <label>
              <input
                type="checkbox"
                checked={todo.done}
                // others' shared todos are read-only here (their group is readOnly)
                disabled={todo.owner_id !== userId}
                onChange={() => update.mutate({ id: todo.id, changes: { done: !todo.done } })}
              />{' '}
              {todo.title}
            </label>
            {todo.owner_id !== userId ? ` (from ${todo.owner_id})` : todo.shared ? ' (shared)' : ''}
          </li>
        ))}
      </ul>
    </>
  );
}
