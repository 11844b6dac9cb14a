import { cookies } from 'next/headers';
import { SESSION_COOKIE, userIdOf } from '../server/session';
import { SignInForm } from './sign-in-form';
import { SignedIn } from './signed-in';

export default async function Page() {
  const userId = userIdOf((await cookies()).get(SESSION_COOKIE)?.value);
  return <main>{userId ? <SignedIn userId={userId} /> : <SignInForm />}</main>;
}
