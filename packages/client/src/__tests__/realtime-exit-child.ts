// Run by realtime-sync.test.ts in a child process: a client that went live, then stop() and
// close(), must leave nothing that keeps Node running.
import { createSyncClient } from '../client/create-sync-client.ts';
import { memoryDriver } from '../node/index.ts';
import { phoneBookConfig } from './fixtures.ts';

const url = process.argv[2] ?? '';
const driver = memoryDriver();
const client = await createSyncClient(phoneBookConfig, { driver, url, groups: ['directory'] });
client.start({ intervalMs: 3_600_000 });
const deadline = Date.now() + 10_000;
while (!client.status.live) {
  if (Date.now() > deadline) throw new Error('never live');
  await new Promise((resolve) => setTimeout(resolve, 5));
}
await client.stop();
await client.close();
await driver.close();
console.log('closed');
