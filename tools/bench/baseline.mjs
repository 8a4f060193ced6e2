// Raw baselines on the configured stack (embedded by default): JetStream publish with acks, Postgres
// batched upsert, S3 multipart upload. Every tidemark benchmark reports its ratio to these.
import { benchStack, fmt, rawJetStreamPublish, rawPostgresUpsert, rawS3Multipart, table } from './_common.mjs';

export async function main() {
  const stack = await benchStack({ nats: true, postgres: true, s3: true });
  try {
    console.log(`stack: ${stack.local.length ? `local ${stack.local.join(', ')} (throwaway)` : 'configured'}; ${new Date().toISOString()}`);
    const js = await rawJetStreamPublish(stack.env.NATS_URL);
    const pg = await rawPostgresUpsert(stack.env.DATABASE_URL);
    const s3 = await rawS3Multipart(stack.env);
    console.log(
      '\n' +
        table([
          ['baseline', 'figure', 'unit', 'setup'],
          ['JetStream publish, serial', fmt(js.serial), 'msg/s', `${js.serialCount} msgs, ~400 B, await each ack`],
          ['JetStream publish, pipelined', fmt(js.pipelined), 'msg/s', `${js.count} msgs, ~400 B, window ${js.window}`],
          ['Postgres batched upsert', fmt(pg.perSecond), 'rows/s', `${pg.rows} rows, ${pg.batch} per transaction`],
          ['S3 multipart upload', fmt(s3.mibPerSecond, 1), 'MiB/s', `${s3.mib} MiB in ${s3.partMiB} MiB parts`],
        ]),
    );
  } finally {
    await stack.stop();
  }
}
