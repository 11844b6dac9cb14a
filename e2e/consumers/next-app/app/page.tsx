import { cookies } from 'next/headers';
import { TodoApp } from './todos';

export default async function Home() {
  const userId = (await cookies()).get('user')?.value;
  if (!userId) return <p>Sign in: set the user cookie.</p>;
  return <TodoApp userId={userId} />;
}
