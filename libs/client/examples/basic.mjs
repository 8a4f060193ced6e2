// A device that works offline and syncs when it can. Run it against a running tidemark (`npm start`):
//   node libs/client/examples/basic.mjs [gatewayUrl] [storageDir] [enrolment.json]
// enrolment.json is what registering the device answered (POST /v1/admin/workspaces/{ws}/devices); it is
// needed on the first run only: the storage keeps the credentials and their rotations from then on.
// Run it again: the same device continues its sequence and pulls only what is new.
import { readFileSync } from 'node:fs';
import { FileStorage, TidemarkClient } from '@tidemark/client/node';

const baseUrl = process.argv[2] ?? process.env.TIDEMARK_URL ?? 'http://127.0.0.1:3001';
const dir = process.argv[3] ?? '.tidemark-device';
const enrolment = process.argv[4] ? JSON.parse(readFileSync(process.argv[4], 'utf8')) : undefined;

const client = await TidemarkClient.open({
  baseUrl,
  storage: await FileStorage.open(dir), // credentials, device id, sequence, clock, outbox and pull cursor live here
  credentials: enrolment,
  retry: { maxAttempts: 3 },
  onChange: (change) => console.log(`change ${change.cursor}: ${change.entity.type}/${change.entity.id} v${change.version} ${JSON.stringify(change.state)}`),
  onConflict: (change) => console.log(`conflict: ${change.entity.type}/${change.entity.id} fields ${change.inConflict.join(', ')}`),
  onRejected: (rejection) => console.error(`refused for good (${rejection.events.length} event(s)): ${rejection.reason}`),
});
console.log(`device ${client.deviceId}: ${client.pending().length} event(s) still queued from before`);

// Each enqueue is durable when it returns, online or not.
await client.upsert('annotation', 'img-42', { label: 'cat' });
await client.enqueue({
  entity: { type: 'annotation', id: 'img-42' },
  op: 'upsert',
  fields: { votes: { op: 'inc', by: 1 }, tags: { op: 'add', values: ['pet'] } },
});

try {
  const { push, pull } = await client.sync();
  console.log(`pushed ${push.accepted} accepted, ${push.duplicate} duplicate; pulled ${pull.changes} change(s), cursor ${pull.cursor}`);
} catch (error) {
  console.error(`not synced (${error.message}); ${client.pending().length} event(s) stay queued for the next run`);
  process.exitCode = 2;
} finally {
  await client.close();
}
