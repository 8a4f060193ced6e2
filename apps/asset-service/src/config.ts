import { Type, type Static } from '@sinclair/typebox';
import { AuthConfig, CommonConfig, CorsConfig, DatabaseConfig, NatsConfig, S3Config, httpPort, loadConfig, type ConfigSpec } from '@tidemark/config';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const bytes = (defaultValue: number, description: string, minimum = 0) => Type.Integer({ minimum, maximum: Number.MAX_SAFE_INTEGER, default: defaultValue, description });

const schema = Type.Object({
  ...CommonConfig,
  ...NatsConfig,
  ...DatabaseConfig,
  ...AuthConfig,
  ...S3Config,
  ...CorsConfig,
  HTTP_PORT: httpPort(3004),
  HTTP_REQUEST_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    maximum: 86_400_000,
    default: 3_600_000,
    description:
      'how long a client may take to send a whole request, a PATCH body included, before it is answered 408 and the connection closed; a client on a slow link sends tus chunks (chunkSize) that each fit in it',
  }),
  S3_PUBLIC_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://', description: 'S3 endpoint as devices reach it, for presigned download URLs (default: S3_ENDPOINT)' })),
  UPLOAD_EXPIRY_MS: Type.Integer({
    minimum: 1000,
    maximum: 30 * 86_400_000,
    default: 86_400_000,
    description: 'an unfinished upload expires this long after it was created or last received bytes (tus Upload-Expires); the collector then aborts it',
  }),
  UPLOAD_PART_SIZE_BYTES: bytes(
    8 * MiB,
    'S3 multipart part size (at least 5 MiB, raised for uploads that would need more than 10 000 parts); a streaming PATCH holds two parts in memory (one filling, one uploading)',
    5 * MiB,
  ),
  UPLOAD_MAX_ACTIVE_PATCHES: Type.Integer({
    minimum: 1,
    maximum: 10_000,
    default: 32,
    description: 'PATCH requests streaming at once per instance (memory: this × 2 × part size); more are answered 503 with Retry-After',
  }),
  UPLOAD_MAX_PATCHES_PER_WORKSPACE: Type.Integer({
    minimum: 1,
    maximum: 10_000,
    default: 16,
    description: 'PATCH requests one workspace may stream at once per instance, so one workspace never holds every slot; more are answered 429 with Retry-After',
  }),
  UPLOAD_MAX_PATCHES_PER_DEVICE: Type.Integer({
    minimum: 1,
    maximum: 10_000,
    default: 8,
    description: 'PATCH requests one device may stream at once per instance; more are answered 429 with Retry-After',
  }),
  UPLOAD_MIN_BYTES_PER_SECOND: Type.Integer({
    minimum: 1,
    maximum: 1024 * 1024 * 1024,
    default: 1024,
    description:
      'the slowest a tus PATCH body may arrive, averaged over each UPLOAD_SLOW_WINDOW_MS; a slower one is answered 408 with the bytes received kept (Upload-Offset) and the connection closed, so a trickling client cannot hold an upload slot',
  }),
  UPLOAD_SLOW_WINDOW_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 30_000, description: 'the window over which UPLOAD_MIN_BYTES_PER_SECOND is measured' }),
  UPLOAD_LOCK_TTL_MS: Type.Integer({
    minimum: 1000,
    maximum: 600_000,
    default: 30_000,
    description: "how long an instance's claim on an upload outlives it if the instance dies mid-PATCH (renewed while streaming)",
  }),
  ASSET_MAX_BYTES_IMAGE: bytes(256 * MiB, 'largest image/* upload, in bytes'),
  ASSET_MAX_BYTES_AUDIO: bytes(2 * GiB, 'largest audio/* upload, in bytes'),
  ASSET_MAX_BYTES_VIDEO: bytes(20 * GiB, 'largest video/* upload, in bytes'),
  ASSET_MAX_BYTES_TEXT: bytes(64 * MiB, 'largest text/* upload, in bytes'),
  ASSET_MAX_BYTES_APPLICATION: bytes(5 * GiB, 'largest application/* upload (and uploads without a content type), in bytes'),
  ASSET_MAX_BYTES_OTHER: bytes(1 * GiB, 'largest upload of any other content type (model/*, font/*, …), in bytes'),
  ASSET_WORKSPACE_QUOTA_BYTES: bytes(100 * GiB, 'bytes one workspace may hold: stored assets plus the declared length of its open uploads'),
  ASSET_COLLECTOR_INTERVAL_MS: Type.Integer({
    minimum: 100,
    maximum: 86_400_000,
    default: 60_000,
    description: 'how often the collector expires abandoned uploads (aborting their S3 multipart uploads), orphans and deletes blobs',
  }),
  ASSET_STRAY_MULTIPART_AGE_MS: Type.Integer({
    minimum: 1000,
    maximum: 30 * 86_400_000,
    default: 3_600_000,
    description: 'the collector aborts a multipart upload in the bucket that no open upload holds once it is this old (by the store’s clock; spares one being started right now, and clock skew)',
  }),
  ASSET_ORPHAN_UNREFERENCED_MS: Type.Integer({
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
    default: 0,
    description: 'a verified asset nothing has referenced for this long becomes orphaned; 0: only removing its last reference orphans it',
  }),
  ASSET_ORPHAN_GRACE_MS: Type.Integer({
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
    default: 7 * 86_400_000,
    description: 'how long an orphaned asset is kept (a reference or a new upload revives it) before its blob is deleted',
  }),
  ASSET_PRESIGNED_URL_TTL_S: Type.Integer({ minimum: 0, maximum: 604_800, default: 0, description: 'lifetime of presigned download URLs (GET /v1/assets/:sha256/url); 0: presigned URLs are off' }),
  OUTBOX_INTERVAL_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 200, description: 'how often the outbox relay looks for unpublished asset lifecycle messages' }),
});

export const assetServiceConfigSpec: ConfigSpec<typeof schema.properties> = { service: 'asset-service', schema };
export type AssetServiceConfig = Static<typeof schema>;
export const loadAssetServiceConfig = (env: NodeJS.ProcessEnv = process.env): AssetServiceConfig => loadConfig(assetServiceConfigSpec, env);

/** The config variable that sets each file class's cap (problem documents name the limit that refused). */
export const CLASS_CAP_VARIABLE = {
  image: 'ASSET_MAX_BYTES_IMAGE',
  audio: 'ASSET_MAX_BYTES_AUDIO',
  video: 'ASSET_MAX_BYTES_VIDEO',
  text: 'ASSET_MAX_BYTES_TEXT',
  application: 'ASSET_MAX_BYTES_APPLICATION',
  other: 'ASSET_MAX_BYTES_OTHER',
} as const;
