import type { Change, DeviceEvent, FieldChange } from '@tidemark/contracts';
import { ServerProblemError, ServerUnavailableError, TidemarkError } from '../errors';
import type { HttpAuth, Sleep } from '../http';
import type { EventDraft } from '../outbox/outbox';
import { backoffDelay, type RetryPolicy } from '../push/backoff';
import type { Storage } from '../storage/storage';
import { MemoryBlobCache, type BlobCache } from './blob-cache';
import { AssetCache, type CacheStats } from './cache-policy';
import { deleteIntent, loadIntents, loadPins, PIN_PREFIX, putIntent, type UploadIntent } from './intents';
import { HASH_SLICE_BYTES, SHA256_HEX, sha256Hex, toBlob, type AssetBytes } from './sha256';
import { authorizedFetch, type BinaryFetch } from './binary-fetch';
import { FetchHttpStack, runTus } from './tus-transport';

/** How a client handles binaries (`ClientOptions.assets`). */
export interface AssetOptions {
  /** The asset-service, e.g. `http://127.0.0.1:3004` (tus at `/v1/uploads`, downloads at `/v1/assets/:sha256`). */
  baseUrl: string;
  /** Where cached and waiting bytes live. Default: a {@link MemoryBlobCache}; on Node `await FileBlobCache.open(dir)`. */
  cache?: BlobCache;
  /** Cap of the cache in bytes (pinned entries count but are never evicted). Default 512 MiB. */
  maxCacheBytes?: number;
  /**
   * File classes (`image`, `audio`, `video`, `text`, `application`, `other`) or content-type prefixes
   * (`image/png`, `video/`) to download into the cache as soon as a pulled change references a verified asset
   * of that kind. Default: none (download on `get`).
   */
  prefetch?: string[];
  /** Bytes per tus PATCH (and read into memory at a time). Default 8 MiB (the asset-service's part size). */
  chunkSize?: number;
  /** tus-js-client's delays between retries of one request (ms); after them the upload waits the client's backoff. Default `[0, 1000, 3000]`. */
  retryDelays?: number[];
  /** Default: the global `fetch`. */
  fetch?: BinaryFetch;
}

/** Where one attached file's upload stands (`client.uploads()`, the `upload` event). */
export interface UploadProgress {
  sha256: string;
  /**
   * `waiting`: queued (offline, or behind another upload); `uploading`: bytes moving; `verified`: the server has
   * them checked and the intent is gone; `failed`: the server refused the upload for good (`error` says why).
   */
  status: 'waiting' | 'uploading' | 'verified' | 'failed';
  /** Bytes the server holds (its `Upload-Offset`). */
  bytesSent: number;
  bytesTotal: number;
  /** Bytes this client put on the wire for it since it was opened (a resume sends only what the server lacks). */
  bytesTransferred: number;
  /** True when the server already held the bytes verified, so nothing was sent. */
  deduplicated?: boolean;
  error?: Error;
}

/** How `attach` writes the reference into the record field: `set` (default; one asset) or `add`/`append` (set and list fields). */
export interface AttachOptions {
  contentType?: string;
  filename?: string;
  op?: 'set' | 'add' | 'append';
}

/** What `attach` did: the asset's address and the record's event (in the outbox). */
export interface Attached {
  sha256: string;
  size: number;
  event: DeviceEvent;
}

/** Downloaded bytes whose sha256 is not the one asked for: nothing was cached. */
export class AssetIntegrityError extends TidemarkError {
  override name = 'AssetIntegrityError';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`downloaded bytes hash to ${actual}, not ${expected}: not cached`);
  }
}

/** What the client lends the assets module. */
export interface AssetHost {
  storage: Storage;
  auth: HttpAuth | undefined;
  enqueue(draft: EventDraft): Promise<DeviceEvent>;
  upload(progress: UploadProgress): void;
  error(error: Error): void;
  retry: RetryPolicy;
  random: () => number;
  sleep: Sleep;
  now: () => number;
  /** Aborts when the client closes. */
  signal: AbortSignal;
}

const FILE_CLASSES = ['image', 'audio', 'video', 'text', 'application'] as const;

/** The asset-service's file class of a content type: its top-level type, or `other`. */
export function fileClassOf(contentType: string): string {
  const top = contentType.split('/')[0]!.trim().toLowerCase();
  return (FILE_CLASSES as readonly string[]).includes(top) ? top : 'other';
}

/** True when a declared prefetch entry (a file class, or a content-type prefix with a `/`) covers `contentType`. */
export function prefetchMatches(declared: readonly string[], contentType: string): boolean {
  const type = contentType.toLowerCase();
  return declared.some((entry) => (entry.includes('/') ? type.startsWith(entry.toLowerCase()) : fileClassOf(type) === entry.toLowerCase()));
}

/**
 * Binaries of a device: `attach` (hash, record the intent durably, pin the bytes in the cache, write the record
 * field, upload over tus when online, resuming across restarts), `get` (downloads through the cache under its
 * policy, sha256 verified), pins and prefetch by file class. Reached as `client.assets`.
 */
export class ClientAssets {
  private readonly progress = new Map<string, UploadProgress>();
  private readonly intents = new Map<string, UploadIntent>();
  private readonly downloads = new Map<string, Promise<Blob>>();
  private readonly fetch: BinaryFetch;
  private readonly endpoint: string;
  private draining: Promise<void> | undefined;
  private loop: { done: Promise<void>; stop: AbortController } | undefined;
  private wake: () => void = () => undefined;
  private prefetching: Promise<void> = Promise.resolve();

  private constructor(
    private readonly host: AssetHost,
    private readonly options: AssetOptions,
    readonly cache: AssetCache,
  ) {
    this.fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init as RequestInit) as ReturnType<BinaryFetch>);
    this.endpoint = options.baseUrl.replace(/\/+$/, '');
  }

  /**
   * Opens the cache and the stored intents: an intent whose attach never returned (no `recorded`) is dropped
   * (nothing points at it); the others wait for upload, their bytes pinned.
   */
  static async open(host: AssetHost, options: AssetOptions): Promise<ClientAssets> {
    const cache = await AssetCache.open(options.cache ?? new MemoryBlobCache(), { maxBytes: options.maxCacheBytes ?? 512 * 1024 * 1024, now: host.now });
    const assets = new ClientAssets(host, options, cache);
    for (const sha256 of await loadPins(host.storage)) cache.pin(sha256, 'app');
    for (const intent of await loadIntents(host.storage)) {
      if (!intent.recorded) {
        await deleteIntent(host.storage, intent.sha256);
        continue;
      }
      assets.intents.set(intent.sha256, intent);
      cache.pin(intent.sha256, 'upload');
      assets.progress.set(intent.sha256, { sha256: intent.sha256, status: 'waiting', bytesSent: 0, bytesTotal: intent.size, bytesTransferred: 0 });
    }
    return assets;
  }

  /**
   * Attaches a file to a record field: hashes it (streaming), stores the upload intent, keeps the bytes in the
   * cache (pinned until the server has them verified), and enqueues the record's event setting the field to the
   * asset's sha256 (`op: 'add'`/`'append'` for set and list fields). Resolves once all of that is durable; the
   * upload runs in the background loop (`client.start()`) or on `flush()`.
   */
  async attach(entity: { type: string; id: string }, field: string, file: AssetBytes, options: AttachOptions = {}): Promise<Attached> {
    const blob = toBlob(file, options.contentType);
    const sha256 = await sha256Hex(blob, HASH_SLICE_BYTES, this.host.signal);
    const known = this.intents.get(sha256);
    const ref = { type: entity.type, id: entity.id, field };
    const intent: UploadIntent = known
      ? { ...known, refs: [...known.refs.filter((r) => r.type !== ref.type || r.id !== ref.id || r.field !== ref.field), ref] }
      : {
          v: 1,
          sha256,
          size: blob.size,
          contentType: blob.type || 'application/octet-stream',
          ...(options.filename !== undefined ? { filename: options.filename } : fileName(file)),
          refs: [ref],
          recorded: false,
          at: this.host.now(),
        };
    await putIntent(this.host.storage, intent);
    await this.cache.put(sha256, blob, 'upload');
    const op = options.op ?? 'set';
    const change: FieldChange = op === 'set' ? { op, value: sha256 } : { op, values: [sha256] };
    const event = await this.host.enqueue({ entity, op: 'upsert', fields: { [field]: change } });
    const recorded = { ...intent, recorded: true };
    await putIntent(this.host.storage, recorded);
    this.intents.set(sha256, recorded);
    if (!known) this.report({ sha256, status: 'waiting', bytesSent: 0, bytesTotal: blob.size, bytesTransferred: 0 });
    this.wake();
    return { sha256, size: blob.size, event };
  }

  /** Every upload this client knows of since it opened: waiting, uploading, failed and verified ones. */
  uploads(): UploadProgress[] {
    return [...this.progress.values()].map((p) => ({ ...p }));
  }

  /**
   * Uploads what waits, one file at a time, until nothing does (resolves) or a transient failure (throws; the
   * intents stay). A failure the server says is final marks that upload `failed` and goes on with the next.
   */
  async flush(signal: AbortSignal = this.host.signal): Promise<void> {
    while ([...this.intents.values()].some((i) => this.progress.get(i.sha256)?.status !== 'failed')) {
      this.draining ??= this.drain(signal).finally(() => (this.draining = undefined));
      await this.draining;
    }
  }

  /** Runs uploads in the background: at once, after each attach, and after a failure with the client's backoff. */
  start(): void {
    if (this.loop) return;
    const stop = new AbortController();
    const signal = AbortSignal.any([this.host.signal, stop.signal]);
    const done = (async () => {
      let failures = 0;
      while (!signal.aborted) {
        let woken = false;
        const wakeUp = new Promise<void>((resolve) => {
          this.wake = () => {
            woken = true;
            resolve();
          };
        });
        try {
          await this.flush(signal);
          failures = 0;
        } catch (error) {
          if (signal.aborted) break;
          failures++;
          this.host.error(error instanceof Error ? error : new Error(String(error)));
        }
        if (woken) continue;
        if (signal.aborted) break; // stopped while the flush ran: an abort listener added now would never fire
        const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        const waits = [wakeUp, aborted];
        if (failures > 0) waits.push(this.host.sleep(backoffDelay(failures, this.host.retry, this.host.random), signal).catch(() => undefined));
        await Promise.race(waits);
      }
    })();
    this.loop = { done, stop };
  }

  async stop(): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    this.loop = undefined;
    loop.stop.abort(new Error('upload loop stopped'));
    await loop.done;
  }

  /** Stops uploads and prefetches and closes the byte store. */
  async close(): Promise<void> {
    await this.stop();
    await Promise.allSettled([this.draining, this.prefetching, ...this.downloads.values()]);
    await this.cache.store.close?.();
  }

  /**
   * The asset's bytes: from the cache when it holds them (a use, for eviction order), else downloaded
   * (`GET /v1/assets/:sha256`), checked against the sha256 and cached under the policy. Throws
   * {@link AssetIntegrityError} for bytes that do not match, `ServerProblemError` (404: not in this workspace).
   */
  async get(sha256: string, signal: AbortSignal = this.host.signal): Promise<Blob> {
    if (!SHA256_HEX.test(sha256)) throw new RangeError(`not an asset reference (64 lower-case hex digits): ${JSON.stringify(sha256)}`);
    const cached = await this.cache.get(sha256);
    if (cached) return cached;
    let download = this.downloads.get(sha256);
    if (!download) {
      download = this.download(sha256, signal).finally(() => this.downloads.delete(sha256));
      this.downloads.set(sha256, download);
    }
    return download;
  }

  /** Keeps an asset in the cache for good (downloading it if needed): never evicted until `unpin`. Survives restarts. */
  async pin(sha256: string): Promise<void> {
    if (!SHA256_HEX.test(sha256)) throw new RangeError(`not an asset reference: ${JSON.stringify(sha256)}`);
    await this.host.storage.put(`${PIN_PREFIX}${sha256}`, '{}');
    this.cache.pin(sha256, 'app');
    await this.get(sha256);
  }

  async unpin(sha256: string): Promise<void> {
    await this.host.storage.delete(`${PIN_PREFIX}${sha256}`);
    await this.cache.unpin(sha256, 'app');
  }

  stats(): CacheStats {
    return this.cache.stats();
  }

  /** Resolves when the prefetches queued so far are done. */
  prefetched(): Promise<void> {
    return this.prefetching;
  }

  /** Queues prefetches for a pulled change's verified assets of a declared class (the pull does not wait). */
  changed(change: Change): void {
    const declared = this.options.prefetch ?? [];
    if (declared.length === 0 || !change.assets) return;
    for (const asset of change.assets) {
      if (asset.status !== 'verified' || this.cache.has(asset.sha256) || !SHA256_HEX.test(asset.sha256)) continue;
      this.prefetching = this.prefetching.then(async () => {
        if (this.host.signal.aborted || this.cache.has(asset.sha256)) return;
        try {
          const head = await authorizedFetch(this.fetch, this.host.auth, `${this.endpoint}/v1/assets/${asset.sha256}`, { method: 'HEAD' }, this.host.signal);
          if (head.status !== 200 || !prefetchMatches(declared, head.headers.get('content-type') ?? '')) return;
          await this.get(asset.sha256);
        } catch (error) {
          if (!this.host.signal.aborted) this.host.error(error instanceof Error ? error : new Error(String(error)));
        }
      });
    }
  }

  private async download(sha256: string, signal: AbortSignal): Promise<Blob> {
    const url = `${this.endpoint}/v1/assets/${sha256}`;
    let response: Awaited<ReturnType<BinaryFetch>>;
    try {
      response = await authorizedFetch(this.fetch, this.host.auth, url, { method: 'GET' }, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      throw new ServerUnavailableError(1, undefined, undefined, error);
    }
    if (response.status !== 200) {
      const text = await response.text().catch(() => '');
      throw new ServerProblemError(response.status, problemIn(text), `/v1/assets/${sha256}`);
    }
    const blob = new Blob([await response.arrayBuffer()], { type: response.headers.get('content-type') ?? '' });
    const actual = await sha256Hex(blob, HASH_SLICE_BYTES, signal);
    if (actual !== sha256) throw new AssetIntegrityError(sha256, actual);
    await this.cache.put(sha256, blob);
    return blob;
  }

  private async drain(signal: AbortSignal): Promise<void> {
    for (const intent of [...this.intents.values()]) {
      if (this.progress.get(intent.sha256)?.status === 'failed') continue;
      await this.uploadOne(intent.sha256, signal);
    }
  }

  private async uploadOne(sha256: string, signal: AbortSignal): Promise<void> {
    const intent = this.intents.get(sha256)!;
    const state = this.progress.get(sha256) ?? { sha256, status: 'waiting', bytesSent: 0, bytesTotal: intent.size, bytesTransferred: 0 };
    const report = (patch: Partial<UploadProgress>) => {
      Object.assign(state, patch);
      this.report(state);
    };
    report({ status: 'uploading' });
    if (intent.uploadUrl === undefined && (await this.verified(sha256, signal))) {
      // Dedupe: the workspace already holds these bytes verified; nothing to send.
      await this.finish(intent, () => report({ status: 'verified', bytesSent: intent.size, deduplicated: true }));
      return;
    }
    const bytes = await this.cache.get(sha256);
    if (!bytes) {
      report({ status: 'failed', error: new TidemarkError(`the bytes of ${sha256} are no longer on this device: attach the file again`) });
      return;
    }
    let current = intent;
    try {
      await runTus(
        {
          endpoint: `${this.endpoint}/v1/uploads`,
          uploadUrl: intent.uploadUrl,
          bytes,
          sha256,
          contentType: intent.contentType,
          filename: intent.filename,
          chunkSize: this.options.chunkSize ?? 8 * 1024 * 1024,
          retryDelays: this.options.retryDelays ?? [0, 1000, 3000],
          stack: new FetchHttpStack(this.fetch, this.host.auth, signal, (_url, sent) => report({ bytesTransferred: state.bytesTransferred + sent })),
          onUrl: (url) => {
            if (current.uploadUrl === url) return;
            current = { ...current, uploadUrl: url };
            this.intents.set(sha256, current);
            putIntent(this.host.storage, current).catch((error: unknown) => this.host.error(error instanceof Error ? error : new Error(String(error))));
          },
          onProgress: (sent, total) => report({ bytesSent: sent, bytesTotal: total }),
        },
        signal,
      );
    } catch (error) {
      if (signal.aborted) throw error;
      const status = statusOf(error);
      if (status !== undefined && status >= 400 && status < 500 && ![401, 408, 409, 423, 429].includes(status)) {
        report({ status: 'failed', error: error instanceof Error ? error : new Error(String(error)) });
        return;
      }
      report({ status: 'waiting' });
      throw error;
    }
    if (!(await this.verified(sha256, signal))) {
      report({ status: 'waiting' });
      throw new TidemarkError(`the upload of ${sha256} finished but the server does not hold the asset verified yet`);
    }
    await this.finish(current, () => report({ status: 'verified', bytesSent: intent.size }));
  }

  /** The server holds the bytes verified: the intent goes, the bytes stay cached but unpinned. */
  private async finish(intent: UploadIntent, reportVerified: () => void): Promise<void> {
    await deleteIntent(this.host.storage, intent.sha256);
    this.intents.delete(intent.sha256);
    await this.cache.unpin(intent.sha256, 'upload');
    reportVerified();
  }

  /** `HEAD /v1/assets/:sha256`: 200 when the workspace holds the bytes verified, 404 when not. */
  private async verified(sha256: string, signal: AbortSignal): Promise<boolean> {
    const answer = await authorizedFetch(this.fetch, this.host.auth, `${this.endpoint}/v1/assets/${sha256}`, { method: 'HEAD' }, signal);
    if (answer.status === 200) return true;
    if (answer.status === 404) return false;
    throw new ServerProblemError(answer.status, undefined, `/v1/assets/${sha256}`);
  }

  private report(progress: UploadProgress): void {
    this.progress.set(progress.sha256, progress);
    this.host.upload({ ...progress });
  }
}

function fileName(file: AssetBytes): { filename?: string } {
  const name = (file as { name?: unknown }).name;
  return typeof name === 'string' && name.length > 0 ? { filename: name } : {};
}

function statusOf(error: unknown): number | undefined {
  const response = (error as { originalResponse?: { getStatus(): number } | null }).originalResponse;
  return response ? response.getStatus() : undefined;
}

function problemIn(text: string): ConstructorParameters<typeof ServerProblemError>[1] {
  try {
    const body = JSON.parse(text) as { type?: unknown };
    return typeof body?.type === 'string' ? (body as ConstructorParameters<typeof ServerProblemError>[1]) : undefined;
  } catch {
    return undefined;
  }
}
