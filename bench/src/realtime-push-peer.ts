import { createSyncClient } from '@carburetor/client';
import { memoryDriver } from '@carburetor/client/node';
import { wallNow } from './child-messages.ts';
import { realtimePushConfig as config, type RealtimePushMessage } from './realtime-push-config.ts';

/**
 * Peer B of the realtime-push benchmark, in a process of its own as another
 * device is: a sync client with the default settings that reports, for each
 * change event the sync brings, its row ids and when it came (wall-clock
 * ms, comparable with the other processes').
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let close: (() => Promise<void>) | undefined;

process.on('message', async (message: RealtimePushMessage) => {
  if (message.type === 'start' && 'url' in message) {
    const client = await createSyncClient(config, {
      driver: memoryDriver(),
      url: message.url,
      groups: ['mine'],
    });
    client.onChange((event) => {
      if (event.source !== 'sync') return;
      const ids = event.ids?.['contact'];
      if (!ids) return;
      const at = wallNow();
      const by = client.recentActivity().at(-1)?.kind ?? 'unknown';
      process.send?.({ type: 'seen', ids: [...ids], at, by } satisfies RealtimePushMessage);
    });
    client.start();
    while (!client.status.live || !client.status.hasSynced) await sleep(10);
    close = () => client.close();
    process.send?.({ type: 'ready' } satisfies RealtimePushMessage);
  } else if (message.type === 'stop') {
    await close?.();
    process.send?.({ type: 'stopped' } satisfies RealtimePushMessage);
    process.exit(0);
  }
});
