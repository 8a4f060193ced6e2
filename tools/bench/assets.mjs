// Uploads through asset-service (stock tus-js-client over HTTP → S3 multipart) against raw multipart
// uploads with the minio client to the same S3 endpoint in the same run, for 1 stream and N concurrent
// streams, sampling the service's resident memory while it works. `--big` adds one 1 GiB upload.
//   npm run bench:assets -- [--mib 64] [--streams 8] [--chunk-mib 0 (one PATCH per upload)] [--big]
import { parseArgs } from 'node:util';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { benchDevice, benchStack, fmt, table } from './_common.mjs';

const MiB = 1024 * 1024;

/** Samples a process's resident set (VmRSS) every 50 ms; `peak()` is the highest seen since the last reset. */
function rssSampler(pid) {
  const read = (field) => {
    try {
      const line = readFileSync(`/proc/${pid}/status`, 'utf8')
        .split('\n')
        .find((l) => l.startsWith(`${field}:`));
      return line ? Number(line.split(/\s+/)[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  };
  let peak = read('VmRSS');
  const timer = setInterval(() => (peak = Math.max(peak, read('VmRSS'))), 50);
  return {
    now: () => read('VmRSS'),
    hwm: () => read('VmHWM'),
    peak: () => Math.max(peak, read('VmRSS')),
    reset: () => (peak = read('VmRSS')),
    stop: () => clearInterval(timer),
  };
}

function tusUpload(Upload, endpoint, bytes, chunkSize, headers) {
  return new Promise((resolve, reject) => {
    const upload = new Upload(bytes, {
      endpoint,
      headers,
      chunkSize: chunkSize || Number.POSITIVE_INFINITY,
      metadata: { filename: 'bench.bin', contentType: 'application/octet-stream', sha256: createHash('sha256').update(bytes).digest('base64') },
      retryDelays: [0, 500, 1000],
      onSuccess: () => resolve(upload.url),
      onError: reject,
    });
    upload.start();
  });
}

async function rawMultipart(s3, bodies, partMiB) {
  const { Client } = await import('minio');
  const url = new URL(s3.S3_ENDPOINT);
  const client = new Client({
    endPoint: url.hostname,
    port: Number(url.port || 80),
    useSSL: url.protocol === 'https:',
    accessKey: s3.S3_ACCESS_KEY,
    secretKey: s3.S3_SECRET_KEY,
    region: s3.S3_REGION,
    pathStyle: true,
    partSize: partMiB * MiB,
  });
  const bucket = `bench-raw-${randomUUID().slice(0, 8)}`;
  await client.makeBucket(bucket, s3.S3_REGION);
  const started = performance.now();
  await Promise.all(bodies.map((body, i) => client.putObject(bucket, `blob-${i}`, body, body.length)));
  const seconds = (performance.now() - started) / 1000;
  for (let i = 0; i < bodies.length; i++) await client.removeObject(bucket, `blob-${i}`);
  await client.removeBucket(bucket);
  return bodies.reduce((n, b) => n + b.length, 0) / MiB / seconds;
}

export async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: { mib: { type: 'string', default: '64' }, streams: { type: 'string', default: '8' }, 'chunk-mib': { type: 'string', default: '0' }, big: { type: 'boolean', default: false } },
  });
  const size = Number(values.mib) * MiB;
  const streams = Number(values.streams);
  const chunkSize = Number(values['chunk-mib']) * MiB;
  const { findFreePort } = await import('@tidemark/local-stack');
  const { startServiceProcess } = await import('@tidemark/testing');
  const { Upload } = await import('tus-js-client');
  const stack = await benchStack({ nats: true, postgres: true, s3: true });
  let service;
  let rss;
  try {
    const partMiB = 8;
    service = await startServiceProcess('asset-service', {
      ...stack.env,
      S3_BUCKET: `bench-assets-${randomUUID().slice(0, 8)}`,
      UPLOAD_PART_SIZE_BYTES: String(partMiB * MiB),
      LOG_LEVEL: 'warn',
      HTTP_PORT: String(await findFreePort()),
    });
    let endpoint = `${service.url}/v1/uploads`;
    const headers = await benchDevice(stack.env, 'bench', 'bench-uploader');
    rss = rssSampler(service.pid);
    const idle = rss.now();
    console.log(
      `stack: ${stack.local.length ? `local ${stack.local.join(', ')} (throwaway)` : 'configured'}; asset-service pid ${service.pid}, idle RSS ${fmt(idle / MiB)} MiB; ${new Date().toISOString()}`,
    );

    const rows = [['case', 'through service', 'raw multipart', 'ratio', 'service peak RSS']];
    const run = async (label, count, bytesEach) => {
      const bodies = Array.from({ length: count }, () => randomBytes(bytesEach));
      rss.reset();
      const started = performance.now();
      await Promise.all(bodies.map((b) => tusUpload(Upload, endpoint, b, chunkSize, headers)));
      const service = (count * bytesEach) / MiB / ((performance.now() - started) / 1000);
      const peak = rss.peak();
      const raw = await rawMultipart(stack.env, bodies, partMiB);
      rows.push([label, `${fmt(service, 1)} MiB/s`, `${fmt(raw, 1)} MiB/s`, `${fmt(service / raw, 2)}×`, `${fmt(peak / MiB)} MiB`]);
      console.log(`  ${label}: ${fmt(service, 1)} MiB/s through the service, ${fmt(raw, 1)} MiB/s raw, peak RSS ${fmt(peak / MiB)} MiB`);
    };
    await run(`1 stream × ${values.mib} MiB`, 1, size);
    await run(`${streams} streams × ${values.mib} MiB`, streams, size);
    console.log(`  service VmHWM after the ${values.mib} MiB runs: ${fmt(rss.hwm() / MiB)} MiB`);
    if (values.big) {
      // One 1 GiB upload on a fresh service process, so its lifetime peak (VmHWM) is this upload's:
      // the service holds two part buffers per streaming request, never the file.
      rss.stop();
      await service.stop();
      service = await startServiceProcess('asset-service', {
        ...stack.env,
        S3_BUCKET: `bench-assets-${randomUUID().slice(0, 8)}`,
        UPLOAD_PART_SIZE_BYTES: String(partMiB * MiB),
        LOG_LEVEL: 'warn',
        HTTP_PORT: String(await findFreePort()),
      });
      endpoint = `${service.url}/v1/uploads`;
      rss = rssSampler(service.pid);
      console.log(`  fresh asset-service pid ${service.pid} for the 1 GiB upload, idle RSS ${fmt(rss.now() / MiB)} MiB`);
      await run('1 stream × 1024 MiB (--big, fresh process)', 1, 1024 * MiB);
      console.log(`  1 GiB upload: service VmHWM (lifetime peak RSS of that process) ${fmt(rss.hwm() / MiB)} MiB`);
    }
    console.log(
      `\nuploads with tus-js-client (${chunkSize ? `${values['chunk-mib']} MiB PATCHes` : 'one PATCH per upload'}), ${partMiB} MiB S3 parts; raw: minio putObject with ${partMiB} MiB parts, same endpoint, same bytes`,
    );
    console.log(table(rows));
  } finally {
    rss?.stop();
    await service?.kill();
    await stack.stop();
  }
}
