import { Type } from '@sinclair/typebox';
import { OPENAPI_ROUTE, ProblemSchema, openApiDocument, type HeaderDoc, type ResponseDoc, type RouteDoc } from '@tidemark/contracts';
import { CHECKSUM_ALGORITHMS, TUS_CONTENT_TYPE, TUS_EXTENSIONS, TUS_VERSION } from '@tidemark/assets';

const UploadId = Type.String({ format: 'uuid', description: 'the upload id (the last segment of the Location a creation answered); anything else is an upload that does not exist (404)' });
const Sha256 = Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'the asset’s sha256, 64 hex digits' });
const Ref = Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,200}$', description: 'what points at the asset (e.g. `annotation/img-42/assetId`)' });
const ByteCount = Type.Integer({ minimum: 0 });

const tusResumable: HeaderDoc = { description: `the tus protocol version (${TUS_VERSION}); answered on every tus response, errors included`, schema: Type.Literal(TUS_VERSION), example: TUS_VERSION };
const tusRequest: Record<string, HeaderDoc> = { 'Tus-Resumable': { ...tusResumable, description: `the tus protocol version the client speaks; anything but ${TUS_VERSION} is 412`, required: true } };
const uploadOffset: HeaderDoc = { description: 'bytes of the upload stored so far', schema: ByteCount, example: '5242880' };
const uploadExpires: HeaderDoc = { description: 'when an upload that receives no more bytes is abandoned (RFC 9110 date)', example: 'Tue, 08 Dec 2026 20:00:00 GMT' };
const close: HeaderDoc = { description: '`close`: the connection is closed, the unread body discarded', example: 'close' };

/** Every answer of the tus handlers carries Tus-Resumable, errors too (the token check's 401 and 403 come before them); some errors carry the offset or close the connection. */
const tus = (r: ResponseDoc, headers: Record<string, HeaderDoc> = {}): ResponseDoc => ({ ...r, headers: { 'Tus-Resumable': tusResumable, ...headers, ...r.headers } });
const tusProblem = (description: string, headers: Record<string, HeaderDoc> = {}): ResponseDoc => tus({ description, schema: ProblemSchema }, headers);

const tusErrors = {
  404: tusProblem('no such upload in this workspace (an id that is not a UUID included)'),
  412: tusProblem(`Tus-Resumable is missing or not ${TUS_VERSION}`, { 'Tus-Version': { description: 'the versions this server speaks', example: TUS_VERSION } }),
  503: tusProblem('this instance is shutting down, already streams as many uploads as it may (UPLOAD_MAX_ACTIVE_PATCHES), or a dependency is down; retry (another instance may have room)', {
    Connection: close,
  }),
};
const writeErrors = {
  400: tusProblem(
    'a header is not valid (named by header:…): Upload-Offset, Upload-Checksum (sha1 or sha256, base64), Upload-Length. A checksummed body that ended early is answered 400 with no body, its Upload-Offset, and the connection closed: the chunk was discarded',
    { 'Upload-Offset': { ...uploadOffset, description: 'after a checksummed body that ended early: the offset to resume from' } },
  ),
  408: tusProblem('the body arrived slower than UPLOAD_MIN_BYTES_PER_SECOND; the bytes received are kept: resume from Upload-Offset', { 'Upload-Offset': uploadOffset, Connection: close }),
  409: tusProblem('Upload-Offset is not the upload’s offset: HEAD it and resume from its offset', { Connection: close }),
  410: tusProblem('the upload was terminated, refused (its bytes did not match the declared sha256) or abandoned and collected'),
  413: tusProblem('the body goes past Upload-Length, or the length is over the file class cap, the part-count limit or the workspace quota (the limit is named)', { Connection: close }),
  415: tusProblem(`the body is not ${TUS_CONTENT_TYPE}`, { Connection: close }),
  422: tusProblem('the upload is complete but its bytes do not hash to the declared sha256; nothing was stored'),
  423: tusProblem('another request is writing to this upload: HEAD it for its offset and retry', { Connection: close }),
  429: tusProblem('the workspace or the device already streams as many uploads as it may at once (UPLOAD_MAX_PATCHES_PER_WORKSPACE, UPLOAD_MAX_PATCHES_PER_DEVICE)', { Connection: close }),
  460: tusProblem('the chunk does not match Upload-Checksum; it was discarded (tus checksum extension)'),
};

const downloadHeaders: Record<string, HeaderDoc> = {
  ETag: { description: 'the sha256 of the bytes, quoted; the same bytes always have the same tag', example: '"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"' },
  'Cache-Control': { description: 'private, immutable: the bytes of a sha256 never change', example: 'private, max-age=31536000, immutable' },
  'Accept-Ranges': { description: '`bytes`', example: 'bytes' },
  'Content-Length': { description: 'bytes in this answer', schema: ByteCount },
};
const ReferenceAnswer = Type.Object({ references: Type.Integer({ minimum: 0 }), status: Type.String({ description: 'the asset’s lifecycle status (verified, referenced, orphaned …)' }) });
const assetErrors = {
  400: { description: 'the sha256 or the reference is not valid (named by path:…)', schema: ProblemSchema },
  404: { description: 'no stored asset with this sha256 in this workspace', schema: ProblemSchema },
};

/** asset-service's routes: tus 1.0 uploads at /v1/uploads and content-addressed assets at /v1/assets. */
export const ASSET_ROUTES: RouteDoc[] = [
  {
    method: 'options',
    path: '/v1/uploads',
    operationId: 'tusDiscover',
    summary: 'tus discovery: the version, extensions, largest upload and checksum algorithms this server supports',
    tags: ['uploads'],
    auth: 'none',
    responses: {
      204: {
        description: 'what the server supports',
        headers: {
          'Tus-Resumable': tusResumable,
          'Tus-Version': { description: 'supported versions', example: TUS_VERSION },
          'Tus-Extension': { description: 'supported extensions', example: TUS_EXTENSIONS.join(',') },
          'Tus-Max-Size': { description: 'the largest upload accepted, in bytes (the largest file class cap)', schema: ByteCount },
          'Tus-Checksum-Algorithm': { description: 'checksum algorithms for Upload-Checksum', example: CHECKSUM_ALGORITHMS.join(',') },
        },
      },
    },
  },
  {
    method: 'options',
    path: '/v1/uploads/{id}',
    operationId: 'tusDiscoverOnUpload',
    summary: 'tus discovery on an upload’s URL (the same answer as on the collection)',
    tags: ['uploads'],
    auth: 'none',
    responses: {
      204: {
        description: 'what the server supports',
        headers: {
          'Tus-Resumable': tusResumable,
          'Tus-Version': { description: 'supported versions', example: TUS_VERSION },
          'Tus-Extension': { description: 'supported extensions', example: TUS_EXTENSIONS.join(',') },
        },
      },
    },
  },
  {
    method: 'post',
    path: '/v1/uploads',
    operationId: 'tusCreateUpload',
    summary: 'tus creation (creation-with-upload and creation-defer-length too): opens an upload for bytes of a declared sha256; bytes this workspace already holds complete at once',
    tags: ['uploads'],
    headers: {
      ...tusRequest,
      'Upload-Length': { description: 'the upload’s size in bytes (or send Upload-Defer-Length: 1)', schema: ByteCount, example: '10485760' },
      'Upload-Defer-Length': { description: '`1`: the length is sent with a later PATCH', schema: Type.Literal('1') },
      'Upload-Metadata': {
        description: 'tus metadata, `key base64(value)` pairs: `sha256` (hex, required) and `contentType` (type/subtype, or `filetype`/`type`); others are kept',
        required: true,
        example: 'sha256 OWY4NmQwODE4ODRjN2Q2NTlhMmZlYWEwYzU1YWQwMTVhM2JmNGYxYjJiMGI4MjJjZDE1ZDZjMTViMGYwMGEwOA==,contentType aW1hZ2UvcG5n',
      },
      'Upload-Checksum': { description: 'with a body (creation-with-upload): `sha1|sha256 base64(digest)` of the body', example: 'sha256 n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=' },
    },
    body: Type.String({ format: 'binary', description: 'optional (creation-with-upload): the first bytes of the upload' }),
    bodyContentType: TUS_CONTENT_TYPE,
    bodyRequired: false,
    example: 'the first bytes',
    responses: {
      201: tus({
        description: 'created: PATCH the rest to Location (Upload-Offset bytes are stored: all of them when the workspace already held them)',
        headers: {
          Location: { description: 'the upload’s URL', example: '/v1/uploads/3f2a9c1e-4b5d-4e6f-8a7b-9c0d1e2f3a4b' },
          'Upload-Offset': uploadOffset,
          'Upload-Length': { description: 'the upload’s size, when already complete', schema: ByteCount },
          'Upload-Expires': uploadExpires,
        },
      }),
      ...tusErrors,
      ...writeErrors,
      400: tusProblem(
        'Upload-Length or Upload-Defer-Length missing or both sent, Upload-Metadata without a hex sha256 or a media type, a length that differs from the bytes the workspace holds for the sha256, or a body header not valid (each named by header:…)',
      ),
    },
  },
  {
    method: 'head',
    path: '/v1/uploads/{id}',
    operationId: 'tusUploadOffset',
    summary: 'tus HEAD: the upload’s offset and length, to resume from',
    tags: ['uploads'],
    params: { id: UploadId },
    headers: tusRequest,
    responses: {
      200: tus({
        description: 'the upload’s state (no body)',
        headers: {
          'Upload-Offset': uploadOffset,
          'Upload-Length': { description: 'the declared size (absent while deferred)', schema: ByteCount },
          'Upload-Defer-Length': { description: '`1` while the length is deferred', example: '1' },
          'Upload-Metadata': { description: 'the metadata the creation sent' },
          'Upload-Expires': { ...uploadExpires, description: `${uploadExpires.description}; only while the upload is open` },
          'Cache-Control': { description: '`no-store`', example: 'no-store' },
        },
      }),
      ...tusErrors,
      410: writeErrors[410],
    },
  },
  {
    method: 'patch',
    path: '/v1/uploads/{id}',
    operationId: 'tusAppend',
    summary: 'tus PATCH: appends the body at Upload-Offset (checksum extension: sha1, sha256); the last byte verifies the sha256 and stores the asset',
    tags: ['uploads'],
    params: { id: UploadId },
    headers: {
      ...tusRequest,
      'Upload-Offset': { ...uploadOffset, description: 'where the body goes: the upload’s current offset', required: true },
      'Upload-Checksum': { description: '`sha1|sha256 base64(digest)` of the body', example: 'sha256 n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=' },
      'Upload-Length': { description: 'the size, on an upload created with Upload-Defer-Length', schema: ByteCount },
    },
    body: Type.String({ format: 'binary' }),
    bodyContentType: TUS_CONTENT_TYPE,
    example: 'the next bytes',
    responses: {
      204: tus({ description: 'stored: the new offset', headers: { 'Upload-Offset': uploadOffset, 'Upload-Expires': uploadExpires } }),
      ...tusErrors,
      ...writeErrors,
    },
  },
  {
    method: 'delete',
    path: '/v1/uploads/{id}',
    operationId: 'tusTerminate',
    summary: 'tus termination: aborts the upload and forgets its bytes',
    tags: ['uploads'],
    params: { id: UploadId },
    headers: tusRequest,
    responses: {
      204: tus({ description: 'terminated' }),
      ...tusErrors,
      400: tusProblem('the upload is complete: its bytes are an asset now (remove references instead)'),
      410: writeErrors[410],
      423: writeErrors[423],
    },
  },
  {
    method: 'get',
    path: '/v1/assets/{sha256}',
    operationId: 'downloadAsset',
    summary: 'The asset’s bytes, with Range (one range), If-None-Match and If-Range; HEAD answers the headers alone',
    tags: ['assets'],
    params: { sha256: Sha256 },
    headers: {
      Range: { description: 'one byte range, `bytes=start-end`, `bytes=start-` or `bytes=-suffix`', example: 'bytes=0-1023' },
      'If-None-Match': { description: 'an ETag the client holds: 304 when it matches' },
      'If-Range': { description: 'an ETag: the Range applies only when it matches (else the whole asset)' },
    },
    responses: {
      200: {
        description: 'the whole asset',
        contentType: 'application/octet-stream',
        schema: Type.String({ format: 'binary', description: 'the bytes, as the content type the upload declared' }),
        headers: { ...downloadHeaders, 'Content-Type': { description: 'the content type the upload declared' } },
      },
      206: {
        description: 'the range asked for',
        contentType: 'application/octet-stream',
        schema: Type.String({ format: 'binary' }),
        headers: { ...downloadHeaders, 'Content-Range': { description: '`bytes start-end/size`', example: 'bytes 0-1023/10485760' } },
      },
      304: { description: 'the client’s copy (If-None-Match) is current', headers: { ETag: downloadHeaders.ETag!, 'Cache-Control': downloadHeaders['Cache-Control']! } },
      ...assetErrors,
      416: { description: 'the Range is outside the asset', schema: ProblemSchema, headers: { 'Content-Range': { description: '`bytes */size`', example: 'bytes */10485760' } } },
    },
  },
  {
    method: 'get',
    path: '/v1/assets/{sha256}/url',
    operationId: 'presignAsset',
    summary: 'A short-lived presigned URL to the bytes in the object store (when ASSET_PRESIGNED_URL_TTL_S is set)',
    tags: ['assets'],
    params: { sha256: Sha256 },
    responses: {
      200: {
        description: 'the URL and when it expires',
        schema: Type.Object({ url: Type.String({ format: 'uri' }), expiresAt: Type.String({ format: 'date-time' }), sha256: Type.String(), size: ByteCount }),
        headers: { 'Cache-Control': { description: '`no-store`', example: 'no-store' } },
        example: {
          url: 'http://127.0.0.1:9000/tidemark-assets/default/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08?X-Amz-Expires=300&X-Amz-Signature=5d41402abc4b2a76',
          expiresAt: '2026-12-07T21:15:00.000Z',
          sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
          size: 10485760,
        },
      },
      ...assetErrors,
      404: { description: 'no stored asset with this sha256 in this workspace, or presigned URLs are off', schema: ProblemSchema },
    },
  },
  {
    method: 'put',
    path: '/v1/assets/{sha256}/references/{ref}',
    operationId: 'referenceAsset',
    summary: 'Record that a record points at the asset (idempotent); a referenced asset is never collected',
    tags: ['assets'],
    params: { sha256: Sha256, ref: Ref },
    responses: { 200: { description: 'the asset’s references and status', schema: ReferenceAnswer, example: { references: 1, status: 'referenced' } }, ...assetErrors },
  },
  {
    method: 'delete',
    path: '/v1/assets/{sha256}/references/{ref}',
    operationId: 'unreferenceAsset',
    summary: 'Remove a reference (idempotent); the last one gone orphans the asset, which the collector removes after a grace period',
    tags: ['assets'],
    params: { sha256: Sha256, ref: Ref },
    responses: { 200: { description: 'the asset’s references and status', schema: ReferenceAnswer, example: { references: 0, status: 'orphaned' } }, ...assetErrors },
  },
  OPENAPI_ROUTE,
];

/** The OpenAPI document asset-service serves at `GET /v1/openapi.json`. */
export const ASSET_OPENAPI = openApiDocument('tidemark asset-service', '1', ASSET_ROUTES, {
  description: `Resumable uploads on tus ${TUS_VERSION} (https://tus.io/protocols/resumable-upload) and content-addressed downloads. Every route needs a device token but tus OPTIONS; the workspace is the token’s.`,
  servers: [
    { url: '/', description: 'the instance serving this document' },
    { url: 'http://127.0.0.1:3004', description: 'asset-service of a local stack (npm start)' },
  ],
});
