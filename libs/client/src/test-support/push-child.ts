// A device process for the crash test (client.e2e.spec.ts), run on the built package:
//   node push-child.js enqueue <storageDir> <gatewayUrl> <count> <idsFile>
//     enqueues <count> events, writes their ids to <idsFile>, prints `enqueued`, then pushes in batches of
//     100 and prints `pushed <n>` after each answered batch. With HOLD_SECOND_ANSWER=1 the answer to the second
//     request is received and then never handed to the client, so a SIGKILL lands with that batch journaled
//     by the server but still in the outbox (the worst moment for a duplicate).
//   node push-child.js resume <storageDir> <gatewayUrl>
//     reopens the storage, prints `resumed {deviceId, lastSeq, pending}`, pushes, prints `done {summary}`.
// DEVICE_CREDENTIALS (JSON, the device's enrolment) is handed to the client on open; a storage that holds
// credentials already keeps its own (rotated) ones. Only answered pushes (200 to /v1/events) count for the hold,
// so a token refresh before them does not move it.
import { writeFileSync } from 'node:fs';
import { FileStorage, TidemarkClient, type DeviceCredentials, type Fetch } from '../node';

async function main(): Promise<void> {
  const [mode, dir, baseUrl, countText, idsFile] = process.argv.slice(2);
  if (!dir || !baseUrl || (mode !== 'enqueue' && mode !== 'resume')) throw new Error('usage: push-child enqueue|resume <dir> <url> [count idsFile]');
  let answeredPushes = 0;
  const fetchWithHold: Fetch = async (url, init) => {
    const answer = await (globalThis.fetch as unknown as Fetch)(url, init);
    if (init.method === 'POST' && url.endsWith('/v1/events') && answer.status === 200 && ++answeredPushes === 2 && process.env.HOLD_SECOND_ANSWER === '1') {
      process.stdout.write(`holding ${answer.status}\n`);
      await new Promise(() => undefined); // never hand the answer over; the test SIGKILLs this process
    }
    return answer;
  };
  const client = await TidemarkClient.open({
    baseUrl,
    storage: await FileStorage.open(dir),
    ...(process.env.DEVICE_CREDENTIALS ? { credentials: JSON.parse(process.env.DEVICE_CREDENTIALS) as DeviceCredentials } : {}),
    maxBatchEvents: 100,
    fetch: fetchWithHold,
    retry: { initialDelayMs: 50, maxDelayMs: 500, maxAttempts: 20 },
    onPushed: (batch) => process.stdout.write(`pushed ${batch.results.length}\n`),
  });
  if (mode === 'enqueue') {
    const count = Number(countText);
    const events = await client.enqueueAll(
      Array.from({ length: count }, (_, i) => ({
        entity: { type: 'annotation', id: `crash-${i % 40}` },
        op: 'upsert' as const,
        fields: { votes: { op: 'inc' as const, by: 1 }, notes: { op: 'append' as const, values: [`n${i}`] } },
      })),
    );
    writeFileSync(idsFile!, JSON.stringify({ deviceId: client.deviceId, eventIds: events.map((e) => e.eventId) }));
    process.stdout.write('enqueued\n');
  } else {
    process.stdout.write(`resumed ${JSON.stringify({ deviceId: client.deviceId, lastSeq: client.lastSeq, pending: client.pending().length })}\n`);
  }
  const summary = await client.push();
  process.stdout.write(`done ${JSON.stringify(summary)}\n`);
  await client.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
