import { Client } from 'minio';
import type { AssetServiceConfig } from './config';

/** The S3 client for the asset bucket (path-style, so MinIO and other S3 servers work alike). */
export function createS3Client(config: AssetServiceConfig): Client {
  const url = new URL(config.S3_ENDPOINT);
  return new Client({
    endPoint: url.hostname,
    port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    useSSL: url.protocol === 'https:',
    accessKey: config.S3_ACCESS_KEY,
    secretKey: config.S3_SECRET_KEY,
    region: config.S3_REGION,
    pathStyle: true,
  });
}

/** Creates the bucket when it is missing (idempotent; a race with another replica is fine). */
export async function ensureBucket(client: Client, bucket: string, region: string): Promise<void> {
  if (await client.bucketExists(bucket)) return;
  try {
    await client.makeBucket(bucket, region);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw error;
  }
}

/** Readiness: the bucket answers. */
export function s3Check(client: Client, bucket: string): { name: string; check(): Promise<void> } {
  return {
    name: 's3',
    check: async () => {
      if (!(await client.bucketExists(bucket))) throw new Error(`bucket ${bucket} is missing`);
    },
  };
}
