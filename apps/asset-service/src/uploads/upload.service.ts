import { createHash, randomUUID, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  S3_MIN_PART_BYTES,
  TUS_CONTENT_TYPE,
  assetObjectKey,
  checkUploadLimits,
  decide,
  encodeUploadMetadata,
  fileClassOf,
  normaliseContentType,
  parseByteCount,
  parseDeclaredSha256,
  parseUploadChecksum,
  parseUploadMetadata,
  partSizeFor,
  replay,
  maxUploadBytes,
  tailObjectKey,
  uploadStagingPrefix,
  type AssetIdentity,
  type AssetLimits,
  type ChecksumAlgorithm,
  type Decision,
  type FileClass,
  type Lifecycle,
  type LifecycleCommand,
  type LifecycleEvent,
} from '@tidemark/assets';
import { inTransaction } from '@tidemark/persistence';
import { counter, type Logger } from '@tidemark/telemetry';
import { CLASS_CAP_VARIABLE } from '../config';
import { assetLifecycle, assetMessages, uploadLifecycle, uploadMessages, LostClaimError, type Ledger, type PartRecord, type UploadRecord } from '../ledger/ledger';
import type { BlobStore } from '../storage/blob-store';
import { AssetProblem, assetProblem, invalid, limitExceeded, notFound, type AssetProblemError } from '../problems';
import { BodyStopped, bodyChunks } from './body';
import { BufferPool, HashStates } from './memory';
import { PatchSlots } from './patch-slots';

const bodyBytes = counter('tidemark_asset_upload_body_bytes_total', 'upload body bytes read from clients (tus PATCH and creation-with-upload)');
const uploadsFinished = counter('tidemark_asset_uploads_total', 'uploads that reached a final status', ['outcome']);
const partsUploaded = counter('tidemark_asset_parts_total', 'S3 multipart parts uploaded');
const verifications = counter('tidemark_asset_sha256_checks_total', 'whole-file sha256 checks by how the digest was obtained', ['method']);

export interface UploadSettings {
  expiryMs: number;
  partSize: number;
  maxActivePatches: number;
  /** PATCH requests streaming at once per workspace and per device in this instance (`UPLOAD_MAX_PATCHES_PER_*`). */
  maxPatchesPerWorkspace: number;
  maxPatchesPerDevice: number;
  /** The slowest a PATCH body may arrive, averaged over each window (`UPLOAD_MIN_BYTES_PER_SECOND`, `UPLOAD_SLOW_WINDOW_MS`). */
  minBytesPerSecond: number;
  slowWindowMs: number;
  lockTtlMs: number;
  limits: AssetLimits;
  instance: string;
}

export interface UploadDeps {
  ledger: Ledger;
  store: BlobStore;
  settings: UploadSettings;
  logger: Logger;
  now: () => Date;
  /** Called after a transaction wrote outbox messages (the relay publishes them). */
  published: () => void;
}

/** What a tus handler answers: status and headers (bodies of tus responses are empty). */
export interface TusAnswer {
  status: number;
  headers: Record<string, string>;
  /** Close the connection after answering: the request body was not (fully) read. */
  close?: boolean;
}

/** Request headers (lower-case names) and body of a tus request. */
export interface TusRequest {
  workspace: string;
  /** The device of the token: PATCH slots are counted per device too. */
  deviceId: string;
  /** The site of the token (recorded with a new upload, so backlog is shown per site); null or absent without one. */
  site?: string | null;
  headers: Record<string, string | undefined>;
  body: Readable;
  /** The base URL of the uploads collection as the client reached it (for Location). */
  collectionPath: string;
}

const isOpen = (status: string) => status === 'pending' || status === 'uploading';
const isStored = (status: string) => status === 'verified' || status === 'referenced' || status === 'orphaned';
const toHeaders = (entries: [string, string | number | undefined][]): Record<string, string> => Object.fromEntries(entries.filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));

function must(decision: Decision, context: string): Extract<Decision, { ok: true }> {
  if (!decision.ok) throw new Error(`${context}: ${decision.code}: ${decision.detail}`);
  return decision;
}

/**
 * The tus 1.0 upload resource (core, creation, creation-with-upload, creation-defer-length, expiration,
 * termination, checksum) over the ledger and the blob store.
 *
 * Bytes of a PATCH stream into a part buffer; each full part goes to S3 as a multipart part and is
 * committed to the ledger with its size, ETag and sha256. When a request ends (or its connection is cut)
 * with less than S3's 5 MiB minimum in the buffer, that tail is written as a pending object keyed by the
 * part it will become, and committed with the offset; the next request reads it back and merges it into
 * that part. Nothing received and committed is ever only in memory.
 */
export class UploadService {
  private readonly active = new Map<string, Promise<void>>();
  private readonly hashes = new HashStates();
  private readonly buffers: BufferPool;
  private readonly stopping = new AbortController();
  private readonly slots: PatchSlots;

  constructor(private readonly deps: UploadDeps) {
    this.buffers = new BufferPool(4);
    this.slots = new PatchSlots({ instance: deps.settings.maxActivePatches, workspace: deps.settings.maxPatchesPerWorkspace, device: deps.settings.maxPatchesPerDevice });
  }

  /** Largest upload any class allows (`Tus-Max-Size`). */
  maxSize(): number {
    return Math.max(...Object.values(this.deps.settings.limits.maxBytes));
  }

  /** Stops reading bodies: streaming requests keep what they received and answer with their offset. */
  stop(): void {
    this.stopping.abort();
  }

  private at(): string {
    return this.deps.now().toISOString();
  }

  private expiry(): Date {
    return new Date(this.deps.now().getTime() + this.deps.settings.expiryMs);
  }

  private identity(u: UploadRecord): AssetIdentity {
    return { workspace: u.workspace, sha256: u.sha256, contentType: u.contentType, fileClass: u.fileClass };
  }

  private capFor(fileClass: FileClass): number {
    return this.deps.settings.limits.maxBytes[fileClass];
  }

  /** 413 for an upload without a declared length that grew past {@link deferredLimit}, naming the limit that applies. */
  private deferredRefusal(upload: UploadRecord, size: number): AssetProblemError {
    const cap = this.capFor(upload.fileClass);
    return cap <= maxUploadBytes(upload.partSize)
      ? limitExceeded(CLASS_CAP_VARIABLE[upload.fileClass], cap, size, `${upload.fileClass} uploads are capped`)
      : limitExceeded('UPLOAD_PART_SIZE_BYTES', maxUploadBytes(upload.partSize), size, 'an upload created without its length is cut into at most 10 000 parts of this size');
  }

  /** Most bytes an upload without a declared length may receive: its class cap, and what its parts can hold. */
  private deferredLimit(upload: UploadRecord): number {
    return Math.min(this.capFor(upload.fileClass), maxUploadBytes(upload.partSize));
  }

  /** Runs `fn` after any other request of this instance on the same upload finished (one at a time). */
  private async exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.active.get(id);
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const queued = (previous ?? Promise.resolve()).then(() => mine);
    this.active.set(id, queued);
    try {
      if (previous && !(await settlesWithin(previous, this.deps.settings.lockTtlMs))) throw this.locked();
      return await fn();
    } finally {
      done();
      if (this.active.get(id) === queued) this.active.delete(id);
    }
  }

  /** A PATCH body that arrived slower than the minimum rate: 408, with the offset kept, and the connection closed. */
  private tooSlow(offset: number): AssetProblemError {
    const { minBytesPerSecond, slowWindowMs } = this.deps.settings;
    return assetProblem(
      AssetProblem.tooSlow,
      408,
      'Upload body too slow',
      {
        detail: `the body arrived slower than ${minBytesPerSecond} bytes per second over ${slowWindowMs} ms (UPLOAD_MIN_BYTES_PER_SECOND); the bytes received are kept: resume from Upload-Offset`,
        limit: { name: 'UPLOAD_MIN_BYTES_PER_SECOND', value: minBytesPerSecond },
      },
      { 'upload-offset': String(offset), connection: 'close' },
    );
  }

  private locked(): AssetProblemError {
    return assetProblem(
      AssetProblem.locked,
      423,
      'Upload locked',
      { detail: 'another request is writing to this upload; HEAD it for its offset and retry' },
      { 'retry-after': '1', connection: 'close' },
    );
  }

  /** tus creation (POST): answers 201 with Location; a workspace that holds the bytes gets Upload-Offset = Upload-Length at once. */
  async create(request: TusRequest): Promise<TusAnswer> {
    const h = request.headers;
    const deferred = h['upload-defer-length'];
    if ((h['upload-length'] === undefined) === (deferred === undefined)) throw invalid([{ pointer: 'header:upload-length', detail: 'send either Upload-Length or Upload-Defer-Length: 1' }]);
    if (deferred !== undefined && deferred.trim() !== '1') throw invalid([{ pointer: 'header:upload-defer-length', detail: 'must be 1' }]);
    const length = h['upload-length'] === undefined ? undefined : parseByteCount(h['upload-length'], 'Upload-Length');
    if (length && !length.ok) throw invalid([{ pointer: 'header:upload-length', detail: length.detail }]);
    const size = length?.ok ? length.value : undefined;
    const metadata = parseUploadMetadata(h['upload-metadata']);
    if (!metadata.ok) throw invalid([{ pointer: `header:upload-metadata${metadata.key !== undefined ? `/${metadata.key}` : ''}`, detail: metadata.detail }]);
    const sha256 = parseDeclaredSha256(metadata.value.sha256);
    if (!sha256.ok) throw invalid([{ pointer: 'header:upload-metadata/sha256', detail: sha256.detail }]);
    const contentType = normaliseContentType(metadata.value.contentType ?? metadata.value.filetype ?? metadata.value.type);
    if (!contentType) throw invalid([{ pointer: 'header:upload-metadata/contentType', detail: 'not a media type (type/subtype)' }]);
    const fileClass = fileClassOf(contentType);
    if (size !== undefined && size > this.capFor(fileClass)) throw limitExceeded(CLASS_CAP_VARIABLE[fileClass], this.capFor(fileClass), size, `${fileClass} uploads are capped`);
    const withBody = (h['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() === TUS_CONTENT_TYPE;
    const { workspace } = request;
    const now = this.deps.now();
    const id = randomUUID();
    const record: UploadRecord = {
      id,
      workspace,
      site: request.site ?? null,
      sha256: sha256.value,
      size,
      offset: 0,
      contentType,
      fileClass,
      filename: metadata.value.filename ?? metadata.value.name ?? null,
      metadata: metadata.value,
      objectKey: assetObjectKey(workspace, sha256.value),
      s3UploadId: null,
      partSize: partSizeFor(size, this.deps.settings.partSize),
      partsBytes: 0,
      nextPart: 1,
      tailBytes: 0,
      status: 'pending',
      reason: null,
      deduplicated: false,
      statusSince: now,
      expiresAt: this.expiry(),
    };
    const location = `${request.collectionPath}/${id}`;

    const outcome = await inTransaction(this.deps.ledger.ds, async (q) => {
      const ledger = this.deps.ledger;
      await ledger.lockWorkspace(q, workspace);
      await ledger.lockAsset(q, workspace, record.sha256);
      const asset = await ledger.findAsset(q, workspace, record.sha256);
      if (asset && isStored(asset.status)) {
        if (size !== undefined && size !== asset.size) {
          throw invalid([{ pointer: 'header:upload-length', detail: `this workspace holds the bytes with sha256 ${record.sha256}: ${asset.size} bytes, not ${size}` }]);
        }
        const created = must(decide(undefined, { type: 'create', size: asset.size, stored: true, at: now.toISOString() }), 'create (stored)');
        const after = replay(undefined, created.events)!;
        await ledger.insertUpload(q, { ...record, size: asset.size, offset: asset.size, status: after.status, deduplicated: true, statusSince: now });
        const messages = uploadMessages(this.identity(record), id, undefined, created.events);
        const revive = decide(assetLifecycle(asset), { type: 'revive', at: now.toISOString() });
        if (revive.ok && revive.events.length > 0) {
          const next = replay(assetLifecycle(asset), revive.events)!;
          const published = assetMessages({ ...this.identity(record), contentType: asset.contentType, fileClass: asset.fileClass }, asset.generation, assetLifecycle(asset), revive.events);
          await ledger.updateAsset(q, asset, next, published.generation);
          messages.push(...published.messages);
        }
        await ledger.insertOutbox(q, messages);
        return { deduplicated: true as const, size: asset.size };
      }
      if (size !== undefined) {
        const used = await ledger.usedBytes(q, workspace);
        const check = checkUploadLimits({ size, fileClass, used }, this.deps.settings.limits);
        if (!check.ok)
          throw check.code === 'file-class-cap'
            ? limitExceeded(CLASS_CAP_VARIABLE[fileClass], check.limit, size, `${fileClass} uploads are capped`)
            : limitExceeded('ASSET_WORKSPACE_QUOTA_BYTES', check.limit, size, `workspace ${workspace} holds ${check.used} bytes`);
      }
      const created = must(decide(undefined, { type: 'create', size, stored: false, at: now.toISOString() }), 'create');
      await ledger.insertUpload(q, record);
      await ledger.insertOutbox(q, uploadMessages(this.identity(record), id, undefined, created.events));
      return { deduplicated: false as const };
    });
    this.deps.published();

    if (outcome.deduplicated) {
      uploadsFinished.inc({ outcome: 'deduplicated' });
      this.deps.logger.info({ uploadId: id, workspace, sha256: record.sha256 }, 'upload deduplicated: the workspace holds these bytes');
      // The body of a creation-with-upload is not needed: answer at once and close instead of reading it.
      return {
        status: 201,
        headers: toHeaders([
          ['location', location],
          ['upload-offset', outcome.size],
          ['upload-length', outcome.size],
        ]),
        close: withBody,
      };
    }
    if (size === 0) {
      const answer = await this.exclusive(id, () =>
        this.write(
          record,
          {
            workspace,
            deviceId: request.deviceId,
            headers: { 'upload-offset': '0', 'content-type': TUS_CONTENT_TYPE, 'content-length': '0' },
            body: request.body,
            collectionPath: request.collectionPath,
          },
          false,
        ),
      );
      return { status: 201, headers: { ...answer.headers, location } };
    }
    if (withBody) {
      const answer = await this.exclusive(id, () => this.write(record, { ...request, headers: { ...h, 'upload-offset': '0', 'upload-length': undefined } }, true));
      return { status: 201, headers: { ...answer.headers, location }, close: answer.close };
    }
    return {
      status: 201,
      headers: toHeaders([
        ['location', location],
        ['upload-offset', 0],
        ['upload-expires', record.expiresAt.toUTCString()],
      ]),
    };
  }

  /** tus HEAD: the offset (after any request of this instance still writing to it finished). */
  async head(workspace: string, id: string): Promise<TusAnswer> {
    if (!(await this.deps.ledger.findUpload(this.deps.ledger.ds, workspace, id))) throw notFound(`upload ${id}`);
    const pending = this.active.get(id);
    if (pending) await settlesWithin(pending, Math.min(this.deps.settings.lockTtlMs, 5000));
    // Another instance may still be saving the tail of a cut request: give it a moment.
    for (let i = 0; i < 20 && (await this.deps.ledger.isClaimed(id)); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    const upload = await this.deps.ledger.findUpload(this.deps.ledger.ds, workspace, id);
    if (!upload) throw notFound(`upload ${id}`);
    if (upload.status === 'collected') throw this.gone(upload);
    return {
      status: 200,
      headers: toHeaders([
        ['upload-offset', upload.offset],
        upload.size === undefined ? ['upload-defer-length', 1] : ['upload-length', upload.size],
        ['upload-metadata', Object.keys(upload.metadata).length ? encodeUploadMetadata(upload.metadata) : undefined],
        ['upload-expires', isOpen(upload.status) ? upload.expiresAt.toUTCString() : undefined],
        ['cache-control', 'no-store'],
      ]),
    };
  }

  private gone(upload: UploadRecord): AssetProblemError {
    return assetProblem(AssetProblem.gone, 410, 'Upload gone', {
      detail: `upload ${upload.id} was ${upload.reason === 'terminated' ? 'terminated' : upload.reason === 'sha256-mismatch' ? 'refused: its bytes did not match the declared sha256' : 'abandoned and collected'}`,
      reason: upload.reason,
    });
  }

  /** tus PATCH: appends the body at Upload-Offset. */
  async patch(request: TusRequest, id: string): Promise<TusAnswer> {
    const find = () => this.deps.ledger.findUpload(this.deps.ledger.ds, request.workspace, id);
    if (!(await find())) throw notFound(`upload ${id}`);
    // tus: a PATCH while another request writes to the upload is 423 Locked, answered at once without
    // reading the body (the client HEADs for the offset and resumes). Checked and taken with no await in
    // between, so two PATCHes arriving together cannot both get in; another instance's claim is checked
    // by the lease in the ledger.
    if (this.active.has(id)) throw this.locked();
    return this.exclusive(id, async () => this.write((await find())!, request, true));
  }

  /** tus termination (DELETE): aborts the multipart upload and forgets the bytes. */
  async terminate(workspace: string, id: string): Promise<TusAnswer> {
    const found = await this.deps.ledger.findUpload(this.deps.ledger.ds, workspace, id);
    if (!found) throw notFound(`upload ${id}`);
    return this.exclusive(id, async () => {
      const owner = this.owner();
      const upload = await this.deps.ledger.claim(id, owner, this.deps.settings.lockTtlMs);
      if (!upload) throw this.locked();
      try {
        if (upload.status === 'collected') throw this.gone(upload);
        const before = uploadLifecycle(upload);
        const decision = decide(before, { type: 'terminate', at: this.at() });
        if (!decision.ok) throw assetProblem(AssetProblem.complete, 400, 'Upload complete', { detail: decision.detail });
        await this.discardBytes(upload);
        const after = replay(before, decision.events)!;
        await inTransaction(this.deps.ledger.ds, async (q) => {
          await this.deps.ledger.finishUpload(q, { id, owner }, after.status, new Date(after.since), { reason: after.reason ?? null });
          await this.deps.ledger.insertOutbox(q, uploadMessages(this.identity(upload), id, before, decision.events));
        });
        this.deps.published();
        this.hashes.forget(id);
        uploadsFinished.inc({ outcome: 'terminated' });
        return { status: 204, headers: {} };
      } finally {
        await this.deps.ledger.release(id, owner).catch(() => undefined);
      }
    });
  }

  /** Aborts the S3 multipart upload and removes staged tails (idempotent). */
  async discardBytes(upload: Pick<UploadRecord, 'id' | 'objectKey' | 's3UploadId'>): Promise<void> {
    if (upload.s3UploadId) await this.deps.store.abortMultipart(upload.objectKey, upload.s3UploadId);
    await this.deps.store.removePrefix(uploadStagingPrefix(upload.id));
  }

  private owner(): string {
    return `${this.deps.settings.instance}:${randomUUID()}`;
  }

  /** The PATCH (or creation-with-upload) write path, with the upload claimed for this request. */
  private async write(found: UploadRecord, request: TusRequest, hasBody: boolean): Promise<TusAnswer> {
    const h = request.headers;
    if ((h['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() !== TUS_CONTENT_TYPE) {
      throw assetProblem(
        AssetProblem.unsupportedMediaType,
        415,
        'Unsupported media type',
        { detail: `send ${TUS_CONTENT_TYPE}; got ${h['content-type'] ?? 'no content-type'}` },
        { connection: 'close' },
      );
    }
    const offset = parseByteCount(h['upload-offset'], 'Upload-Offset');
    if (!offset.ok) throw invalid([{ pointer: 'header:upload-offset', detail: offset.detail }]);
    const checksum = parseUploadChecksum(h['upload-checksum']);
    if (!checksum.ok) throw invalid([{ pointer: 'header:upload-checksum', detail: checksum.detail }]);
    const declared = h['upload-length'] === undefined ? undefined : parseByteCount(h['upload-length'], 'Upload-Length');
    if (declared && !declared.ok) throw invalid([{ pointer: 'header:upload-length', detail: declared.detail }]);
    const contentLength = h['content-length'] === undefined ? undefined : Number(h['content-length']);

    if (found.status === 'collected') throw this.gone(found);
    if (offset.value !== found.offset) throw this.offsetMismatch(offset.value, found.offset);
    if (isStored(found.status)) {
      // Complete already (a dedupe hit, or a retry of the last request): only an empty PATCH at the end is fine.
      if ((contentLength ?? 0) > 0) throw this.offsetMismatch(offset.value, found.offset);
      if (declared?.ok && declared.value !== found.size) throw invalid([{ pointer: 'header:upload-length', detail: `the length is ${found.size}` }]);
      return { status: 204, headers: toHeaders([['upload-offset', found.offset]]) };
    }
    const slot = this.slots.acquire(found.workspace, request.deviceId);
    if (!slot.ok) {
      // The instance's limit protects its memory (503: another instance may have room); a workspace's or a
      // device's is that client's share (429: slow down).
      const [status, who] =
        slot.scope === 'instance' ? [503, 'this instance streams'] : slot.scope === 'workspace' ? [429, `workspace ${found.workspace} may stream`] : [429, `device ${request.deviceId} may stream`];
      throw assetProblem(
        AssetProblem.busy,
        status,
        'Too many uploads',
        { detail: `${who} at most ${slot.limit} uploads at once (${slot.variable}); retry after the others finish`, limit: slot.variable },
        { 'retry-after': '1', connection: 'close' },
      );
    }
    try {
      return await this.claimAndReceive(found, request, hasBody, { offset: offset.value, checksum: checksum.value, declared: declared?.ok ? declared.value : undefined, contentLength });
    } finally {
      slot.release();
    }
  }

  private async claimAndReceive(
    found: UploadRecord,
    request: TusRequest,
    hasBody: boolean,
    h: { offset: number; checksum: { algorithm: ChecksumAlgorithm; hex: string } | undefined; declared: number | undefined; contentLength: number | undefined },
  ): Promise<TusAnswer> {
    const owner = this.owner();
    const claimed = await this.deps.ledger.claim(found.id, owner, this.deps.settings.lockTtlMs);
    if (!claimed) throw this.locked();
    let upload = claimed;
    const renewal = setInterval(() => void this.deps.ledger.renew(upload.id, owner, this.deps.settings.lockTtlMs).catch(() => undefined), Math.max(500, Math.floor(this.deps.settings.lockTtlMs / 3)));
    renewal.unref();
    try {
      if (upload.status === 'collected') throw this.gone(upload);
      if (h.offset !== upload.offset) throw this.offsetMismatch(h.offset, upload.offset);
      if (h.declared !== undefined) upload = await this.declareLength(upload, owner, h.declared);
      const limit = upload.size ?? this.deferredLimit(upload);
      const contentLength = h.contentLength;
      if (contentLength !== undefined && upload.offset + contentLength > limit) {
        throw upload.size !== undefined
          ? assetProblem(
              AssetProblem.limitExceeded,
              413,
              'Upload refused: body exceeds Upload-Length',
              { detail: `${upload.offset} + ${contentLength} bytes exceed the upload's length ${upload.size}` },
              { connection: 'close' },
            )
          : this.deferredRefusal(upload, upload.offset + contentLength);
      }
      return await this.receive(upload, owner, hasBody ? request.body : undefined, h.checksum);
    } finally {
      clearInterval(renewal);
      await this.deps.ledger.release(upload.id, owner).catch(() => undefined);
    }
  }

  private offsetMismatch(sent: number, actual: number): AssetProblemError {
    return assetProblem(
      AssetProblem.offsetMismatch,
      409,
      'Upload-Offset mismatch',
      { detail: `Upload-Offset ${sent} does not match the upload's offset ${actual}; HEAD the upload and resume from its offset` },
      { connection: 'close' },
    );
  }

  /** creation-defer-length: the length arrives with a PATCH; checked against the class cap and the quota then. */
  private async declareLength(upload: UploadRecord, owner: string, size: number): Promise<UploadRecord> {
    const decision = decide(uploadLifecycle(upload), { type: 'declare-length', size, at: this.at() });
    if (!decision.ok) throw invalid([{ pointer: 'header:upload-length', detail: decision.detail }]);
    if (decision.events.length === 0) return upload;
    const cap = this.capFor(upload.fileClass);
    if (size > cap) throw limitExceeded(CLASS_CAP_VARIABLE[upload.fileClass], cap, size, `${upload.fileClass} uploads are capped`);
    if (size > maxUploadBytes(upload.partSize))
      throw limitExceeded('UPLOAD_PART_SIZE_BYTES', maxUploadBytes(upload.partSize), size, 'an upload created without its length is cut into at most 10 000 parts of this size');
    await inTransaction(this.deps.ledger.ds, async (q) => {
      await this.deps.ledger.lockWorkspace(q, upload.workspace);
      const used = await this.deps.ledger.usedBytes(q, upload.workspace);
      const check = checkUploadLimits({ size, fileClass: upload.fileClass, used }, this.deps.settings.limits);
      if (!check.ok && check.code === 'workspace-quota') throw limitExceeded('ASSET_WORKSPACE_QUOTA_BYTES', check.limit, size, `workspace ${upload.workspace} holds ${check.used} bytes`);
      await this.deps.ledger.setSize(q, upload.id, owner, size);
    });
    return { ...upload, size };
  }

  /**
   * Streams the body into parts. A request that ends early (a cut connection, a shutdown) keeps what
   * arrived, unless it carried Upload-Checksum: a checksummed body is committed whole or not at all.
   * Two part buffers per request: one fills from the client while the other uploads to S3.
   */
  private async receive(upload: UploadRecord, owner: string, body: Readable | undefined, checksum: { algorithm: ChecksumAlgorithm; hex: string } | undefined): Promise<TusAnswer> {
    const { store, ledger } = this.deps;
    const limit = upload.size ?? this.deferredLimit(upload);
    const held: Buffer[] = [this.buffers.acquire(upload.partSize)];
    let buffer = held[0]!;
    let spare: Buffer | undefined;
    const hash: Hash | undefined = this.hashes.resume(upload.id, upload.offset);
    const chunkHash = checksum ? createHash(checksum.algorithm) : undefined;
    let fill = 0;
    let tailLoaded = upload.tailBytes === 0;
    let partsBytes = upload.partsBytes;
    let nextPart = upload.nextPart;
    let s3UploadId = upload.s3UploadId;
    let committed = upload.offset;
    let lifecycle = uploadLifecycle(upload);
    const uncommitted: PartRecord[] = [];
    const staleTails: number[] = [];
    let stopped: BodyStopped | undefined;
    /** The part upload (and its commit) in flight while the next part fills. */
    let inflight: Promise<void> | undefined;

    const loadTail = async () => {
      if (tailLoaded) return;
      await store.readInto(tailObjectKey(upload.id, nextPart), upload.tailBytes, buffer, 0);
      fill = upload.tailBytes;
      tailLoaded = true;
    };

    /** Records parts up to `at.partsBytes` plus a tail; `hashed` is the running hash at that offset. */
    const commit = async (parts: PartRecord[], at: { partsBytes: number; nextPart: number; tailBytes: number }, hashed: Hash | undefined) => {
      const offset = at.partsBytes + at.tailBytes;
      const command: LifecycleCommand = { type: 'receive', bytes: offset - committed, at: this.at() };
      const decision = must(decide(lifecycle, command), 'receive');
      const after = replay(lifecycle, decision.events)!;
      await inTransaction(ledger.ds, async (q) => {
        await ledger.commitProgress(
          q,
          { id: upload.id, owner, fromOffset: committed },
          { offset, partsBytes: at.partsBytes, nextPart: at.nextPart, tailBytes: at.tailBytes, status: after.status, statusSince: new Date(after.since), expiresAt: this.expiry(), parts },
        );
        await ledger.insertOutbox(q, uploadMessages(this.identity(upload), upload.id, lifecycle, decision.events));
      });
      if (after.status !== lifecycle.status) this.deps.published();
      committed = offset;
      lifecycle = after;
      if (hashed) this.hashes.keep(upload.id, offset, hashed);
      for (const part of staleTails.splice(0)) void store.remove(tailObjectKey(upload.id, part)).catch(() => undefined);
    };

    /** Sends the full buffer as the next part (after the previous one finished) and goes on filling the other buffer. */
    const flush = async () => {
      await inflight;
      const bytes = buffer.subarray(0, fill);
      const partNumber = nextPart;
      if (upload.tailBytes > 0 && partNumber === upload.nextPart) staleTails.push(partNumber);
      partsBytes += fill;
      nextPart += 1;
      const at = { partsBytes, nextPart, tailBytes: 0 };
      const hashed = hash?.copy();
      inflight = (async () => {
        if (!s3UploadId) {
          s3UploadId = await store.startMultipart(upload.objectKey, upload.contentType);
          await ledger.setMultipart(upload.id, owner, s3UploadId);
        }
        const etag = await store.uploadPart(upload.objectKey, s3UploadId, partNumber, bytes);
        partsUploaded.inc();
        const part: PartRecord = { partNumber, size: bytes.length, etag, sha256: createHash('sha256').update(bytes).digest('hex') };
        if (checksum) uncommitted.push(part);
        else await commit([part], at, hashed);
      })();
      inflight.catch(() => undefined);
      if (!spare) {
        spare = this.buffers.acquire(upload.partSize);
        held.push(spare);
      }
      [buffer, spare] = [spare, buffer];
      fill = 0;
    };

    try {
      if (body) {
        try {
          const minimum = { bytesPerSecond: this.deps.settings.minBytesPerSecond, windowMs: this.deps.settings.slowWindowMs, now: () => this.deps.now().getTime() };
          for await (const chunk of bodyChunks(body, this.stopping.signal, minimum)) {
            bodyBytes.inc(chunk.length);
            if (partsBytes + (tailLoaded ? fill : upload.tailBytes) + chunk.length > limit) {
              throw upload.size !== undefined
                ? assetProblem(
                    AssetProblem.limitExceeded,
                    413,
                    'Upload refused: body exceeds Upload-Length',
                    { detail: `the body goes past the upload's length ${upload.size}` },
                    { connection: 'close' },
                  )
                : this.deferredRefusal(upload, partsBytes + fill + chunk.length);
            }
            await loadTail();
            for (let at = 0; at < chunk.length;) {
              const take = Math.min(upload.partSize - fill, chunk.length - at);
              const piece = chunk.subarray(at, at + take);
              piece.copy(buffer, fill);
              hash?.update(piece);
              chunkHash?.update(piece);
              fill += take;
              at += take;
              if (fill === upload.partSize) await flush();
            }
          }
        } catch (error) {
          if (!(error instanceof BodyStopped)) throw error;
          stopped = error;
        }
      }
      await inflight;

      if (checksum) {
        if (stopped) {
          this.deps.logger.info({ uploadId: upload.id, why: stopped.why }, 'checksummed body ended early: discarded');
          if (stopped.why === 'aborted')
            throw assetProblem(
              AssetProblem.busy,
              503,
              'Shutting down',
              { detail: 'this instance is shutting down; the checksummed chunk was not kept, send it again' },
              { 'retry-after': '1', connection: 'close' },
            );
          if (stopped.why === 'slow') throw this.tooSlow(committed);
          return { status: 400, headers: toHeaders([['upload-offset', committed]]), close: true };
        }
        const digest = chunkHash!.digest('hex');
        if (digest !== checksum.hex) {
          throw assetProblem(AssetProblem.checksumMismatch, 460, 'Checksum mismatch', {
            detail: `the body's ${checksum.algorithm} is ${digest}, Upload-Checksum says ${checksum.hex}; the chunk was discarded`,
            algorithm: checksum.algorithm,
          });
        }
      }

      const total = partsBytes + (tailLoaded ? fill : upload.tailBytes);
      if (upload.size !== undefined && total === upload.size) {
        await loadTail();
        return await this.complete(upload, owner, { buffer, fill, hash, uncommitted, partsBytes, nextPart, s3UploadId, committed, lifecycle });
      }
      if (total !== committed || uncommitted.length > 0) {
        if (tailLoaded && fill >= S3_MIN_PART_BYTES) {
          await flush();
          await inflight;
        }
        if (tailLoaded && fill > 0) await store.put(tailObjectKey(upload.id, nextPart), buffer.subarray(0, fill));
        await commit(uncommitted.splice(0), { partsBytes, nextPart, tailBytes: tailLoaded ? fill : upload.tailBytes }, hash?.copy());
      }
      // Too slow: what arrived is kept (the offset says how much) and the client resumes from there.
      if (stopped?.why === 'slow') throw this.tooSlow(committed);
      return {
        status: 204,
        headers: toHeaders([
          ['upload-offset', committed],
          ['upload-expires', this.expiry().toUTCString()],
        ]),
        close: stopped !== undefined,
      };
    } catch (error) {
      if (error instanceof LostClaimError) throw this.locked();
      throw error;
    } finally {
      // A part still uploading reads from its buffer: wait before handing buffers back.
      await inflight?.catch(() => undefined);
      for (const b of held) this.buffers.release(b);
    }
  }

  /**
   * The last bytes arrived: verify the whole-file sha256 and make the asset, under the asset's lock so
   * concurrent uploads of the same bytes, revivals and collection never interleave.
   */
  private async complete(
    upload: UploadRecord,
    owner: string,
    s: { buffer: Buffer; fill: number; hash: Hash | undefined; uncommitted: PartRecord[]; partsBytes: number; nextPart: number; s3UploadId: string | null; committed: number; lifecycle: Lifecycle },
  ): Promise<TusAnswer> {
    const { store, ledger } = this.deps;
    const size = upload.size!;
    const last = s.buffer.subarray(0, s.fill);
    const singleObject = s.s3UploadId === null;
    // The digest is known when this instance saw every byte, or when the whole file is in the buffer.
    let actual = s.hash?.digest('hex') ?? (singleObject ? createHash('sha256').update(last).digest('hex') : undefined);
    let method = s.hash ? 'streamed' : singleObject ? 'buffered' : 'read-back';
    const at = this.at();
    const received = must(decide(s.lifecycle, { type: 'receive', bytes: size - s.committed, at }), 'receive');
    const full = replay(s.lifecycle, received.events)!;

    const outcome = await inTransaction(ledger.ds, async (q) => {
      await ledger.lockAsset(q, upload.workspace, upload.sha256);
      const asset = await ledger.findAsset(q, upload.workspace, upload.sha256);
      const stored = asset !== undefined && isStored(asset.status);
      if (actual !== undefined && actual !== upload.sha256) return { ok: false as const, actual };
      if (stored) {
        // The workspace got these bytes meanwhile (another upload finished first): keep that object.
        if (actual === undefined) method = 'already-stored';
        if (s.s3UploadId) await store.abortMultipart(upload.objectKey, s.s3UploadId);
      } else if (singleObject) {
        await store.put(upload.objectKey, last, upload.contentType);
      } else {
        const parts = [...(await ledger.parts(q, upload.id)), ...s.uncommitted];
        if (s.fill > 0) {
          const etag = await store.uploadPart(upload.objectKey, s.s3UploadId!, s.nextPart, last);
          partsUploaded.inc();
          parts.push({ partNumber: s.nextPart, size: s.fill, etag, sha256: createHash('sha256').update(last).digest('hex') });
        }
        try {
          await store.completeMultipart(
            upload.objectKey,
            s.s3UploadId!,
            parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
          );
        } catch (error) {
          // A retry after a completion whose commit failed: the object is there already.
          if ((error as { code?: string }).code !== 'NoSuchUpload' || (await store.size(upload.objectKey)) !== size) throw error;
          actual = undefined;
        }
        if (actual === undefined) {
          method = 'read-back';
          actual = await this.digestObject(upload.objectKey);
          if (actual !== upload.sha256) {
            await store.remove(upload.objectKey);
            return { ok: false as const, actual };
          }
        }
      }
      const verified = must(decide(full, { type: 'verify', declaredSha256: upload.sha256, actualSha256: upload.sha256, at }), 'verify');
      const events = [...received.events, ...verified.events];
      const after = replay(s.lifecycle, events)!;
      await ledger.finishUpload(q, { id: upload.id, owner }, after.status, new Date(after.since), { offset: size });
      const messages = uploadMessages(this.identity(upload), upload.id, s.lifecycle, events);
      if (stored) {
        const revive = decide(assetLifecycle(asset), { type: 'revive', at });
        if (revive.ok && revive.events.length > 0) {
          const published = assetMessages({ ...this.identity(upload), contentType: asset.contentType, fileClass: asset.fileClass }, asset.generation, assetLifecycle(asset), revive.events);
          await ledger.updateAsset(q, asset, replay(assetLifecycle(asset), revive.events)!, published.generation);
          messages.push(...published.messages);
        }
      } else {
        await ledger.storeAsset(q, {
          workspace: upload.workspace,
          sha256: upload.sha256,
          size,
          contentType: upload.contentType,
          fileClass: upload.fileClass,
          objectKey: upload.objectKey,
          generation: asset ? asset.generation + 1 : 0,
          uploadId: upload.id,
          statusSince: new Date(at),
        });
      }
      await ledger.insertOutbox(q, messages);
      return { ok: true as const, stored };
    });

    this.hashes.forget(upload.id);
    verifications.inc({ method });
    if (!outcome.ok) {
      // The multipart upload may have been started by this very request: abort the one it holds, not the
      // (still empty) id of the record loaded before the request.
      await this.refuseMismatch({ ...upload, s3UploadId: s.s3UploadId }, owner, s.lifecycle, received.events, outcome.actual, at);
      throw assetProblem(AssetProblem.sha256Mismatch, 422, 'sha256 mismatch', {
        detail: `the uploaded bytes hash to sha256 ${outcome.actual}, the upload declared ${upload.sha256}; the upload was discarded, nothing was stored`,
        declared: upload.sha256,
        actual: outcome.actual,
      });
    }
    this.deps.published();
    await store.removePrefix(uploadStagingPrefix(upload.id)).catch((error: unknown) => this.deps.logger.warn({ err: error, uploadId: upload.id }, 'staged tails not removed; the collector retries'));
    uploadsFinished.inc({ outcome: outcome.stored ? 'joined-existing' : 'verified' });
    return { status: 204, headers: toHeaders([['upload-offset', size]]) };
  }

  private async refuseMismatch(upload: UploadRecord, owner: string, before: Lifecycle, received: LifecycleEvent[], actual: string, at: string): Promise<void> {
    const full = replay(before, received)!;
    const refused = must(decide(full, { type: 'verify', declaredSha256: upload.sha256, actualSha256: actual, at }), 'verify');
    const events = [...received, ...refused.events];
    const after = replay(before, events)!;
    await this.discardBytes(upload).catch((error: unknown) => this.deps.logger.warn({ err: error, uploadId: upload.id }, 'discarding a refused upload failed; the collector retries'));
    await inTransaction(this.deps.ledger.ds, async (q) => {
      await this.deps.ledger.finishUpload(q, { id: upload.id, owner }, after.status, new Date(after.since), { reason: after.reason ?? null });
      await this.deps.ledger.insertOutbox(q, uploadMessages(this.identity(upload), upload.id, before, events));
    });
    this.deps.published();
    uploadsFinished.inc({ outcome: 'sha256-mismatch' });
  }

  /** sha256 of a stored object, read back once (an upload resumed on an instance that did not see its start). */
  private async digestObject(key: string): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of (await this.deps.store.read(key)) as AsyncIterable<Buffer>) hash.update(chunk);
    return hash.digest('hex');
  }
}

function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    timer.unref();
    void promise.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}
