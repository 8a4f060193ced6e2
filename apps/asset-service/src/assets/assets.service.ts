import type { Readable } from 'node:stream';
import { assetEtag, decide, ifNoneMatchMatches, ifRangeMatches, isSha256Hex, parseRange, replay, type LifecycleCommand } from '@tidemark/assets';
import { inTransaction } from '@tidemark/persistence';
import { assetLifecycle, assetMessages, type AssetRecord, type Ledger } from '../ledger/ledger';
import type { BlobStore } from '../storage/blob-store';
import { AssetProblem, assetProblem, invalid, notFound } from '../problems';

export interface Download {
  status: 200 | 206 | 304;
  headers: Record<string, string>;
  /** Opens the bytes to send (absent for 304 and HEAD). An unsatisfiable range is a 416 problem, thrown. */
  open?: () => Promise<Readable>;
}

export interface AssetsDeps {
  ledger: Ledger;
  store: BlobStore;
  presignTtlSeconds: number;
  now: () => Date;
  published: () => void;
}

/**
 * The bytes behind a digest never change, but an answer is for one workspace's authenticated device: a
 * shared cache (a CDN, a corporate proxy) must not keep it and serve it to anyone else, so `private`;
 * `Vary: Authorization` says the same to caches that ignore `private`. A CDN serves assets through
 * presigned URLs straight to the store (GET /v1/assets/:sha256/url), never through this route.
 */
const CACHING = { 'cache-control': 'private, max-age=31536000, immutable', vary: 'authorization' };
const REF = /^[A-Za-z0-9_.:-]{1,200}$/;

/** Downloads of stored assets (Range, ETag = sha256, private immutable caching), presigned URLs and references. */
export class AssetsService {
  constructor(private readonly deps: AssetsDeps) {}

  private async stored(workspace: string, sha256: string): Promise<AssetRecord> {
    const hex = sha256.toLowerCase();
    if (!isSha256Hex(hex)) throw invalid([{ pointer: 'path:sha256', detail: 'must be 64 hex digits' }]);
    const asset = await this.deps.ledger.findAsset(this.deps.ledger.ds, workspace, hex);
    if (!asset || asset.status === 'collected') throw notFound(`asset ${hex}`);
    return asset;
  }

  /** GET/HEAD `/v1/assets/:sha256` with `Range`, `If-Range` and `If-None-Match`. */
  async download(workspace: string, sha256: string, headers: { range?: string; ifNoneMatch?: string; ifRange?: string }, head: boolean): Promise<Download> {
    const asset = await this.stored(workspace, sha256);
    const etag = assetEtag(asset.sha256);
    const common = { etag, ...CACHING, 'accept-ranges': 'bytes' };
    if (ifNoneMatchMatches(headers.ifNoneMatch, etag)) return { status: 304, headers: common };
    const range = ifRangeMatches(headers.ifRange, etag) ? parseRange(headers.range, asset.size) : { kind: 'whole' as const };
    const typed = { ...common, 'content-type': asset.contentType };
    switch (range.kind) {
      case 'unsatisfiable':
        throw assetProblem(
          AssetProblem.rangeNotSatisfiable,
          416,
          'Range not satisfiable',
          {
            detail: `the Range asks for bytes outside the asset's ${asset.size} bytes (the first byte is 0, the last ${asset.size - 1})`,
            errors: [{ pointer: 'header:range', detail: 'not satisfiable' }],
            size: asset.size,
          },
          { 'content-range': `bytes */${asset.size}`, 'accept-ranges': 'bytes' },
        );
      case 'range': {
        const length = range.end - range.start + 1;
        return {
          status: 206,
          headers: { ...typed, 'content-range': `bytes ${range.start}-${range.end}/${asset.size}`, 'content-length': String(length) },
          ...(head ? {} : { open: () => this.deps.store.read(asset.objectKey, { start: range.start, end: range.end }) }),
        };
      }
      case 'whole':
        return { status: 200, headers: { ...typed, 'content-length': String(asset.size) }, ...(head || asset.size === 0 ? {} : { open: () => this.deps.store.read(asset.objectKey) }) };
      default: {
        const never: never = range;
        throw new Error(`unknown range ${JSON.stringify(never)}`);
      }
    }
  }

  /** A short-lived presigned URL straight to the store, when configured. */
  async presign(workspace: string, sha256: string): Promise<{ url: string; expiresAt: string; sha256: string; size: number }> {
    if (this.deps.presignTtlSeconds <= 0) throw assetProblem(AssetProblem.presignOff, 404, 'Presigned URLs are off', { detail: 'set ASSET_PRESIGNED_URL_TTL_S to hand out presigned download URLs' });
    const asset = await this.stored(workspace, sha256);
    const url = await this.deps.store.presignGet(asset.objectKey, this.deps.presignTtlSeconds, asset.contentType);
    return { url, expiresAt: new Date(this.deps.now().getTime() + this.deps.presignTtlSeconds * 1000).toISOString(), sha256: asset.sha256, size: asset.size };
  }

  /** Records that `ref` points at the asset (idempotent): verified or orphaned assets become referenced. */
  reference(workspace: string, sha256: string, ref: string): Promise<{ references: number; status: string }> {
    return this.changeReference(workspace, sha256, ref, 'reference');
  }

  /** Removes a reference (idempotent); the last one gone orphans the asset. */
  unreference(workspace: string, sha256: string, ref: string): Promise<{ references: number; status: string }> {
    return this.changeReference(workspace, sha256, ref, 'unreference');
  }

  private async changeReference(workspace: string, sha256: string, ref: string, type: 'reference' | 'unreference'): Promise<{ references: number; status: string }> {
    if (!REF.test(ref)) throw invalid([{ pointer: 'path:ref', detail: 'must be 1–200 letters, digits, _ . : or -' }]);
    const { sha256: hex } = await this.stored(workspace, sha256);
    const { ledger } = this.deps;
    const result = await inTransaction(ledger.ds, async (q) => {
      await ledger.lockAsset(q, workspace, hex);
      const asset = await ledger.findAsset(q, workspace, hex);
      if (!asset || asset.status === 'collected') throw notFound(`asset ${hex}`);
      const changed = type === 'reference' ? await ledger.addReference(q, workspace, hex, ref) : await ledger.removeReference(q, workspace, hex, ref);
      if (!changed) return { references: asset.refCount, status: asset.status, published: false };
      const before = assetLifecycle(asset);
      const command: LifecycleCommand = { type, at: this.deps.now().toISOString() };
      const decision = decide(before, command);
      if (!decision.ok) throw new Error(`${type} ${workspace}/${hex}: ${decision.code}: ${decision.detail}`);
      const after = replay(before, decision.events)!;
      const { messages, generation } = assetMessages(asset, asset.generation, before, decision.events);
      await ledger.updateAsset(q, asset, after, generation);
      await ledger.insertOutbox(q, messages);
      return { references: after.references, status: after.status, published: messages.length > 0 };
    });
    if (result.published) this.deps.published();
    return { references: result.references, status: result.status };
  }
}
