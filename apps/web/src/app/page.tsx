import { cookies } from 'next/headers';
import { PhoneBookApp } from '../components/phone-book-app.tsx';
import { SignInForm } from '../components/sign-in-form.tsx';
import { SESSION_COOKIE, userIdOf } from '../server/session.ts';

export default async function Home() {
  const userId = userIdOf((await cookies()).get(SESSION_COOKIE)?.value);
  return userId ? <PhoneBookApp userId={userId} /> : <SignInForm />;
}
