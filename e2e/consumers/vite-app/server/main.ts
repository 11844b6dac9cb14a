// The API: `node server/main.ts` (Node strips the types). Vite's dev and
// preview servers proxy /api/trpc here (vite.config.ts).
import { createServer } from 'node:http';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { appRouter, contextOf } from './router.ts';

createServer(
  createHTTPHandler({ router: appRouter, createContext: ({ req }) => contextOf(req) }),
).listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
