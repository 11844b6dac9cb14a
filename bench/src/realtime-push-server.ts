import { createPgKysely } from '@carburetor/server';
import type { RealtimePushMessage } from './realtime-push-config.ts';
import { createPushServer } from './realtime-push-router.ts';

/**
 * The realtime-push benchmark's server in a process of its own, as an app's
 * server runs: `createPushServer` on the benchmark's database.
 */
let stop: (() => Promise<void>) | undefined;

process.on('message', async (message: RealtimePushMessage) => {
  if (message.type === 'start' && 'databaseUrl' in message) {
    const db = createPgKysely(message.databaseUrl);
    const server = createPushServer(db, message.user);
    const url = await server.listen();
    stop = async () => {
      await server.close();
      await db.destroy();
    };
    process.send?.({ type: 'listening', url } satisfies RealtimePushMessage);
  } else if (message.type === 'stop') {
    await stop?.();
    process.send?.({ type: 'stopped' } satisfies RealtimePushMessage);
    process.exit(0);
  }
});
