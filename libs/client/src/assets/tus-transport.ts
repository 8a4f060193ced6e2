import { Upload, type HttpRequest, type HttpResponse, type HttpStack } from 'tus-js-client';
import type { HttpAuth } from '../http';
import { authorizedFetch, type BinaryFetch, type SentMeter } from './binary-fetch';

type UploadOptions = ConstructorParameters<typeof Upload>[1];
type TusFileReader = NonNullable<UploadOptions['fileReader']>;
type UrlStorage = NonNullable<UploadOptions['urlStorage']>;

/**
 * tus-js-client's HTTP stack over `fetch` instead of XMLHttpRequest / `node:http`: one code path in browsers and
 * Node, the client's token renewal, and the same injectable `fetch`. `fetch` reports no upload progress, so a
 * chunk's bytes count as sent when its answer arrives (progress moves chunk by chunk).
 */
export class FetchHttpStack implements HttpStack {
  constructor(
    private readonly fetch: BinaryFetch,
    private readonly auth: HttpAuth | undefined,
    private readonly signal: AbortSignal,
    private readonly meter?: SentMeter,
  ) {}

  createRequest(method: string, url: string): HttpRequest {
    return new FetchRequest(method, url, this.fetch, this.auth, this.signal, this.meter);
  }

  getName(): string {
    return 'tidemark-fetch';
  }
}

class FetchRequest implements HttpRequest {
  private readonly headers: Record<string, string> = {};
  private readonly aborted = new AbortController();
  private progress: (bytesSent: number) => void = () => undefined;

  constructor(
    private readonly method: string,
    private readonly url: string,
    private readonly fetch: BinaryFetch,
    private readonly auth: HttpAuth | undefined,
    private readonly signal: AbortSignal,
    private readonly meter: SentMeter | undefined,
  ) {}

  getMethod(): string {
    return this.method;
  }

  getURL(): string {
    return this.url;
  }

  setHeader(header: string, value: string): void {
    this.headers[header] = value;
  }

  getHeader(header: string): string | undefined {
    return this.headers[header];
  }

  setProgressHandler(handler: (bytesSent: number) => void): void {
    this.progress = handler;
  }

  async send(body?: unknown): Promise<HttpResponse> {
    const bytes = body instanceof Uint8Array ? body : undefined;
    const response = await authorizedFetch(
      this.fetch,
      this.auth,
      this.url,
      { method: this.method, headers: this.headers, ...(bytes ? { body: bytes } : {}) },
      AbortSignal.any([this.signal, this.aborted.signal]),
    );
    const text = await response.text();
    if (bytes) {
      this.meter?.(this.url, bytes.length);
      this.progress(bytes.length);
    }
    return { getStatus: () => response.status, getHeader: (name) => response.headers.get(name) ?? undefined, getBody: () => text, getUnderlyingObject: () => response };
  }

  async abort(): Promise<void> {
    this.aborted.abort(new Error('upload request aborted'));
  }

  getUnderlyingObject(): unknown {
    return undefined;
  }
}

/** tus-js-client reads a Blob slice by slice into bytes (`fetch` sends them in browsers and Node alike). */
const blobReader: TusFileReader = {
  openFile: async (input: unknown) => {
    const blob = input as Blob;
    return {
      size: blob.size,
      slice: async (start: number, end: number) => {
        const stop = Math.min(end, blob.size);
        const value = new Uint8Array(await blob.slice(start, stop).arrayBuffer());
        // tus-js-client measures a slice by `value.size` (as its own Buffer source sets it)
        return { value: Object.assign(value, { size: value.length }), done: stop >= blob.size };
      },
      close: () => undefined,
    };
  },
};

/** The SDK keeps upload URLs in its own Storage (with the intent), not in tus-js-client's URL storage. */
const noUrlStorage: UrlStorage = {
  findAllUploads: async () => [],
  findUploadsByFingerprint: async () => [],
  removeUpload: async () => undefined,
  addUpload: async () => '',
};

export interface TusJob {
  /** `<asset-service>/v1/uploads`. */
  endpoint: string;
  /** Resume here (a HEAD tells the offset); a URL the server no longer knows makes tus create a new upload. */
  uploadUrl: string | undefined;
  bytes: Blob;
  sha256: string;
  contentType: string;
  filename: string | undefined;
  chunkSize: number;
  retryDelays: number[];
  stack: HttpStack;
  onUrl(url: string): void;
  onProgress(bytesSent: number, bytesTotal: number): void;
}

/**
 * One tus upload with tus-js-client, resolved when the server has every byte (the last PATCH, or a HEAD that
 * says the upload is complete). The whole-file sha256 goes in `Upload-Metadata` (hex), so the server refuses
 * bytes that do not match it and answers a digest it already holds at creation.
 */
export function runTus(job: TusJob, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const upload: Upload = new Upload(job.bytes, {
      endpoint: job.endpoint,
      uploadUrl: job.uploadUrl ?? null,
      uploadSize: job.bytes.size,
      metadata: { sha256: job.sha256, contentType: job.contentType, ...(job.filename !== undefined ? { filename: job.filename } : {}) },
      fingerprint: async () => `tidemark-sha256:${job.sha256}`,
      storeFingerprintForResuming: false,
      removeFingerprintOnSuccess: false,
      urlStorage: noUrlStorage,
      fileReader: blobReader,
      httpStack: job.stack,
      chunkSize: job.chunkSize,
      retryDelays: job.retryDelays,
      onUploadUrlAvailable: () => {
        if (upload.url) job.onUrl(upload.url);
      },
      onProgress: (sent, total) => job.onProgress(sent, total),
      onSuccess: () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      onError: (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(signal.aborted ? (signal.reason as Error) : error);
      },
    });
    const onAbort = () => {
      void upload.abort(false).catch(() => undefined);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    upload.start();
  });
}
